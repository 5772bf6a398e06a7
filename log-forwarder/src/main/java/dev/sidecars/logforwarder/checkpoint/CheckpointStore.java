package dev.sidecars.logforwarder.checkpoint;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
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
 * crash, even a power loss, leaves the old or the new file, never half of one. Without a directory the positions live in memory only.
 */
public final class CheckpointStore {
  private static final Logger log = Logger.getLogger(CheckpointStore.class.getName());
  private static final String FILE = "checkpoints.json";

  private final Optional<Path> dir;
  private final LongSupplier clockNanos;
  private final ObjectMapper json = new ObjectMapper().configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);
  private final Set<FileIdentity> live = ConcurrentHashMap.newKeySet();
  private final List<Checkpoint> restored = new ArrayList<>();
  private volatile long lastWriteNanos;

  public CheckpointStore(Optional<Path> dir, LongSupplier clockNanos) {
    this.dir = dir;
    this.clockNanos = clockNanos;
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
      if (content.files() != null) {
        restored.addAll(content.files());
      }
      log.info(() -> "resuming " + restored.size() + " file(s) from " + file);
    } catch (IOException e) {
      // A damaged file must not stop the sidecar; starting over re-sends, it does not lose.
      log.log(Level.WARNING, "ignoring unreadable checkpoint file " + file, e);
    }
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
    Path temp = dir.get().resolve(FILE + ".tmp");
    try {
      byte[] bytes = json.writeValueAsBytes(new StateFile(1, files));
      try (FileChannel out = FileChannel.open(temp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
          StandardOpenOption.TRUNCATE_EXISTING)) {
        ByteBuffer buffer = ByteBuffer.wrap(bytes);
        while (buffer.hasRemaining()) {
          out.write(buffer);
        }
        // On disk before the name points at it: otherwise a power loss after the rename can leave
        // checkpoints.json empty or garbled (file systems may persist the rename before the data).
        out.force(true);
      }
      try {
        Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(temp, target, StandardCopyOption.REPLACE_EXISTING);
      }
      syncDirectory(dir.get());
      lastWriteNanos = clockNanos.getAsLong();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write checkpoints to " + target, e);
    }
  }

  /** Makes the rename itself durable; where a directory cannot be opened (Windows) the rename is still atomic. */
  private static void syncDirectory(Path directory) {
    try (FileChannel d = FileChannel.open(directory, StandardOpenOption.READ)) {
      d.force(true);
    } catch (IOException | UnsupportedOperationException e) {
      log.log(Level.FINEST, "cannot fsync " + directory, e);
    }
  }

  /** Seconds since positions were last written while some file has bytes not yet committed; else 0. */
  public double ageSeconds() {
    boolean behind = live.stream().anyMatch(id -> id.committed() < id.size());
    return behind ? (clockNanos.getAsLong() - lastWriteNanos) / 1e9 : 0;
  }

  /** The file's shape: a version, then one entry per file. */
  private record StateFile(int version, List<Checkpoint> files) {}
}
