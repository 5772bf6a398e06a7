package dev.sidecars.logforwarder.checkpoint;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The committed positions of every file being followed, kept in one JSON file in {@code LOG_STATE_DIR}
 * and replaced atomically (written beside and fsynced, renamed over, then the directory fsynced), so a
 * crash, even a power loss, leaves the old or the new file, never half of one. Without a directory the
 * positions live in memory only.
 *
 * <p>A state directory deleted while the forwarder runs is created again at the next write (or the next
 * check); while positions cannot be written, {@link #problem()} says why (readiness reports it) and the
 * checkpoint age keeps growing. A file that cannot be read at start is kept beside as {@code
 * checkpoints.json.damaged-<time>}, and {@link #damaged()} tells the tailer to read every file from its
 * beginning rather than skip what it cannot know was shipped.
 */
public final class CheckpointStore {
  private static final Logger log = Logger.getLogger(CheckpointStore.class.getName());
  static final String FILE = "checkpoints.json";

  /** The two fsyncs of a write; replaceable so a test can see that each happens, and when. */
  interface Durability {
    Durability FSYNC = new Durability() {
      @Override
      public void force(FileChannel file, Path path) throws IOException {
        file.force(true);
      }

      @Override
      public void forceDirectory(Path directory) {
        try (FileChannel d = FileChannel.open(directory, StandardOpenOption.READ)) {
          d.force(true);
        } catch (IOException | UnsupportedOperationException e) {
          // Where a directory cannot be opened (Windows) the rename is still atomic.
          log.log(Level.FINEST, "cannot fsync " + directory, e);
        }
      }
    };

    /** Makes the written bytes of {@code path} durable. */
    void force(FileChannel file, Path path) throws IOException;

    /** Makes a rename in {@code directory} durable. */
    void forceDirectory(Path directory);
  }

  private final Optional<Path> dir;
  private final LongSupplier clockNanos;
  private final Durability durability;
  private final ObjectMapper json = new ObjectMapper().configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);
  private final Set<FileIdentity> live = ConcurrentHashMap.newKeySet();
  private final List<Checkpoint> restored = new ArrayList<>();
  private volatile long lastWriteNanos;
  private volatile boolean written;
  private volatile boolean damaged;
  private volatile String problem;

  public CheckpointStore(Optional<Path> dir, LongSupplier clockNanos) {
    this(dir, clockNanos, Durability.FSYNC);
  }

  CheckpointStore(Optional<Path> dir, LongSupplier clockNanos, Durability durability) {
    this.dir = dir;
    this.clockNanos = clockNanos;
    this.durability = durability;
    this.lastWriteNanos = clockNanos.getAsLong();
    dir.ifPresent(this::load);
  }

  private void load(Path directory) {
    Path file = directory.resolve(FILE);
    if (!Files.exists(file)) {
      return;
    }
    try {
      StateFile content = json.readValue(file.toFile(), StateFile.class);
      if (content == null) {
        throw new IOException("empty file");
      }
      if (content.files() != null) {
        restored.addAll(content.files());
      }
      log.info(() -> "resuming " + restored.size() + " file(s) from " + file);
    } catch (IOException | RuntimeException e) {
      // A damaged file must not stop the sidecar, nor make it skip lines it cannot know were shipped:
      // every file is read from its beginning (re-sending, not losing), and the file is kept for a look.
      damaged = true;
      Path copy = directory.resolve(FILE + ".damaged-" + DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'")
          .withZone(ZoneOffset.UTC).format(Instant.now()));
      String kept;
      try {
        Files.copy(file, copy, StandardCopyOption.REPLACE_EXISTING);
        kept = "a copy is kept as " + copy;
      } catch (IOException copyFailed) {
        kept = "it could not be copied aside (" + copyFailed + ")";
      }
      log.warning("cannot read the saved positions in " + file + " (" + e.getMessage().lines().findFirst().orElse("")
          + "); " + kept + ". Every file found now is read from its beginning, whatever LOG_START_AT says:"
          + " lines shipped before may be sent again, none is skipped");
    }
  }

  /** Whether the positions file was there but could not be read at start: no saved position is known. */
  public boolean damaged() {
    return damaged;
  }

  /** Why positions cannot be written now, if they cannot. */
  public Optional<String> problem() {
    return Optional.ofNullable(problem);
  }
  /** The positions read at start that no file has claimed yet. */
  public synchronized List<Checkpoint> unclaimed() {
    return List.copyOf(restored);
  }

  /** The restored position of the content whose first bytes are {@code head}, taken out of the unclaimed set. */
  public synchronized Optional<Checkpoint> claim(byte[] head) {
    for (Checkpoint c : restored) {
      if (c.fingerprintLength() > 0 && head.length >= c.fingerprintLength()
          && FileIdentity.sha256(head, c.fingerprintLength()).equals(c.fingerprintSha256())) {
        restored.remove(c);
        return Optional.of(c);
      }
    }
    return Optional.empty();
  }

  /**
   * The restored position of a file that was empty when it was saved (no fingerprint yet), known only by
   * its {@code path}. Whatever is there now was written after that save (or is a new file under the
   * name), so it is read from the saved offset, 0, rather than from where {@code LOG_START_AT} says.
   */
  public synchronized Optional<Checkpoint> claimEmpty(String path) {
    for (Checkpoint c : restored) {
      if (c.fingerprintLength() == 0 && path.equals(c.path())) {
        restored.remove(c);
        return Optional.of(c);
      }
    }
    return Optional.empty();
  }

  /** Gives up on a restored position (its file is gone); it is not written again. */
  public synchronized void forget(Checkpoint checkpoint) {
    restored.remove(checkpoint);
  }

  public void track(FileIdentity identity) {
    live.add(identity);
  }

  public Set<FileIdentity> live() {
    return live;
  }

  /** Writes every position now; identities read to their end and fully committed are dropped. */
  public synchronized void write() {
    live.removeIf(FileIdentity::finished);
    if (dir.isEmpty()) {
      lastWriteNanos = clockNanos.getAsLong();
      return;
    }
    List<Checkpoint> files = new ArrayList<>(restored);
    for (FileIdentity identity : live) {
      // Empty files too: without their entry a file seen empty would, after a restart with
      // LOG_START_AT=end, be taken for one never seen and the lines written meanwhile skipped.
      files.add(identity.checkpoint());
    }
    Path target = dir.get().resolve(FILE);
    try {
      byte[] bytes = json.writeValueAsBytes(new StateFile(1, files));
      try {
        replace(target, bytes);
      } catch (NoSuchFileException e) {
        // The state directory was deleted under the running forwarder: make it again, or every position
        // saved from now on would be lost with it, and a restart would read every file again.
        Files.createDirectories(dir.get());
        log.warning(() -> "LOG_STATE_DIR " + dir.get() + " had disappeared; created it again and saved every position");
        replace(target, bytes);
      }
      lastWriteNanos = clockNanos.getAsLong();
      written = true;
      if (problem != null) {
        problem = null;
        log.info(() -> "positions are saved again in " + target);
      }
    } catch (IOException | RuntimeException e) {
      if (problem == null) {
        log.severe("cannot save read positions in " + target + " (" + e + "); not ready until they can be:"
            + " a restart now would read again what was shipped since the last save");
      }
      problem = "cannot write checkpoints to " + target + ": " + e;
      throw new UncheckedIOException("cannot write checkpoints to " + target,
          e instanceof IOException io ? io : new IOException(e));
    }
  }

  private void replace(Path target, byte[] bytes) throws IOException {
    Path temp = target.resolveSibling(FILE + ".tmp");
    try (FileChannel out = FileChannel.open(temp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
        StandardOpenOption.TRUNCATE_EXISTING)) {
      ByteBuffer buffer = ByteBuffer.wrap(bytes);
      while (buffer.hasRemaining()) {
        out.write(buffer);
      }
      // On disk before the name points at it: otherwise a power loss after the rename can leave
      // checkpoints.json empty or garbled (file systems may persist the rename before the data).
      durability.force(out, temp);
    }
    try {
      Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (AtomicMoveNotSupportedException e) {
      Files.move(temp, target, StandardCopyOption.REPLACE_EXISTING);
    }
    // The rename itself made durable.
    durability.forceDirectory(target.getParent());
  }

  /**
   * Writes the positions again if their file has gone since it was last written (its directory deleted,
   * say): called at every scan, so that is noticed even while no batch is accepted.
   */
  public void verify() {
    if (dir.isPresent() && written && !Files.exists(dir.get().resolve(FILE))) {
      try {
        write();
      } catch (UncheckedIOException e) {
        // logged, and reported by readiness, by write()
      }
    }
  }

  /**
   * Seconds since positions were last written, while some file has bytes not yet committed or the last
   * write failed (then what is on disk is behind what was accepted); else 0.
   */
  public double ageSeconds() {
    boolean behind = problem != null || live.stream().anyMatch(id -> id.committed() < id.size());
    return behind ? (clockNanos.getAsLong() - lastWriteNanos) / 1e9 : 0;
  }

  /** The file's shape: a version, then one entry per file. */
  private record StateFile(int version, List<Checkpoint> files) {}
}
