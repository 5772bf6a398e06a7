package dev.sidecars.logforwarder;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * Rotates a live log file as logrotate does, keeping {@code keep} old files ({@code app.log.1} newest):
 * the oldest is deleted, the others shifted, then the live file is renamed to {@code .1} (the writer creates
 * it anew) or copied to {@code .1} and truncated (copytruncate, under the writer's lock, so no line falls
 * between the copy and the truncation). Alternates the two when run at a pace.
 */
final class Logrotate implements AutoCloseable {
  private final java.util.List<String> history = new java.util.concurrent.CopyOnWriteArrayList<>();
  private final Path live;
  private final int keep;
  private final NumberedWriter writer;
  private final AtomicInteger rotations = new AtomicInteger();
  private final AtomicBoolean running = new AtomicBoolean();
  private final AtomicBoolean paused = new AtomicBoolean();
  private Thread thread;

  Logrotate(Path live, int keep, NumberedWriter writer) {
    this.live = live;
    this.keep = keep;
    this.writer = writer;
  }

  /** Rotates every {@code period}, by rename and by copy-truncate in turn, until closed. */
  Logrotate every(Duration period) {
    running.set(true);
    thread = new Thread(() -> {
      while (running.get()) {
        // logrotate's pace (a busy app rotated by size), not a test waiting for something.
        LockSupport.parkNanos(period.toNanos());
        if (running.get() && !paused.get()) {
          rotate(rotations.get() % 2 == 1);
        }
      }
    }, "logrotate");
    thread.start();
    return this;
  }

  void pause() {
    paused.set(true);
  }

  void resume() {
    paused.set(false);
  }

  int rotations() {
    return rotations.get();
  }

  /** One rotation now. */
  void rotate(boolean copyTruncate) {
    writer.lock.lock();
    try {
      Path oldest = sibling(keep);
      Files.deleteIfExists(oldest);
      for (int i = keep - 1; i >= 1; i--) {
        if (Files.exists(sibling(i))) {
          Files.move(sibling(i), sibling(i + 1), StandardCopyOption.ATOMIC_MOVE);
        }
      }
      if (Files.exists(live)) {
        if (copyTruncate) {
          Files.copy(live, sibling(1));
          try (FileChannel channel = FileChannel.open(live, StandardOpenOption.WRITE)) {
            channel.truncate(0);
          }
        } else {
          Files.move(live, sibling(1), StandardCopyOption.ATOMIC_MOVE);
        }
      }
      rotations.incrementAndGet();
      note("rotation " + rotations.get() + (copyTruncate ? " by copy-truncate" : " by rename") + " after line "
          + writer.written());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } finally {
      writer.lock.unlock();
    }
  }

  /** Adds an event to the history, with the time. */
  void note(String event) {
    history.add(java.time.Instant.now() + " " + event);
  }

  /** What happened when, for a failure's message. */
  java.util.List<String> history() {
    return history;
  }

  private Path sibling(int n) {
    return live.resolveSibling(live.getFileName() + "." + n);
  }

  @Override
  public void close() throws InterruptedException {
    running.set(false);
    if (thread != null) {
      thread.join(10_000);
    }
  }
}
