package dev.sidecars.collector.store;

import java.util.ArrayDeque;

/**
 * Holds stored encodings in large chunks that are reused once every item in them is evicted. A store
 * that keeps the newest N items of a fast stream is the worst case for a generational collector (every
 * item lives just long enough to be promoted, then dies in the old generation); packing the bytes into a
 * few long-lived chunks leaves the collector only short-lived garbage. Items leave in the order they came,
 * so chunks free up in order too. Not thread-safe: the owning store locks.
 */
final class ByteArena {
  static final int CHUNK_BYTES = 1 << 20;
  private static final int SPARE_CHUNKS = 4;

  /** A run of bytes; {@code live} counts the items still stored in it. */
  static final class Chunk {
    final byte[] bytes;
    final boolean pooled;
    int used;
    int live;

    private Chunk(byte[] bytes, boolean pooled) {
      this.bytes = bytes;
      this.pooled = pooled;
    }
  }

  private final ArrayDeque<Chunk> inUse = new ArrayDeque<>();
  private final ArrayDeque<Chunk> spare = new ArrayDeque<>();
  private Chunk current;

  /** Copies {@code length} bytes in; returns the chunk holding them, at offset {@code chunk.used - length}. */
  Chunk put(byte[] source, int offset, int length) {
    Chunk chunk;
    if (length > CHUNK_BYTES / 4) {
      // A rare large item gets its own array, referenced by its slot alone: freed with the item, and
      // never in the chunk queue, where it would wait behind the current chunk.
      chunk = new Chunk(new byte[length], false);
    } else {
      if (current == null || current.used + length > CHUNK_BYTES) {
        current = spare.isEmpty() ? new Chunk(new byte[CHUNK_BYTES], true) : spare.pollFirst();
        current.used = 0;
        inUse.addLast(current);
      }
      chunk = current;
    }
    System.arraycopy(source, offset, chunk.bytes, chunk.used, length);
    chunk.used += length;
    chunk.live++;
    return chunk;
  }

  /** One item of {@code chunk} is gone; chunks left empty at the old end are recycled. */
  void release(Chunk chunk) {
    chunk.live--;
    if (!chunk.pooled) {
      return;
    }
    while (!inUse.isEmpty() && inUse.peekFirst().live == 0 && inUse.peekFirst() != current) {
      Chunk empty = inUse.pollFirst();
      if (empty.pooled && spare.size() < SPARE_CHUNKS) {
        spare.addLast(empty);
      }
    }
  }

  /** Pooled chunks holding items now, for tests of the bound. */
  int chunksInUse() {
    return inUse.size();
  }

  void clear() {
    inUse.clear();
    spare.clear();
    current = null;
  }
}
