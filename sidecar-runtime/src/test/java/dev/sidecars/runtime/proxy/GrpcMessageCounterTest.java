package dev.sidecars.runtime.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;

class GrpcMessageCounterTest {
  /** Three messages (empty, 70,000 bytes, 3 bytes) as gRPC frames them, one after another. */
  private static ByteBuf threeMessages() {
    ByteBuf all = Unpooled.buffer();
    for (int size : new int[] {0, 70_000, 3}) {
      all.writeByte(0).writeInt(size).writeZero(size);
    }
    return all;
  }

  @Test
  void countsMessagesInOneBuffer() {
    GrpcMessageCounter counter = new GrpcMessageCounter();
    ByteBuf all = threeMessages();
    counter.consume(all);
    assertThat(counter.messages()).isEqualTo(3);
    assertThat(all.readerIndex()).isZero(); // the bytes still go on unread
  }

  /** A prefix split anywhere, a byte at a time even: the count is the same. */
  @Test
  void countsMessagesSplitAtEveryByte() {
    GrpcMessageCounter counter = new GrpcMessageCounter();
    ByteBuf all = threeMessages();
    for (int i = 0; i < all.writerIndex(); i++) {
      counter.consume(all.slice(i, 1));
    }
    assertThat(counter.messages()).isEqualTo(3);
  }

  @Test
  void countsMessagesInPiecesOfAnySize() {
    ByteBuf all = threeMessages();
    for (int piece : new int[] {2, 5, 7, 4096, 16_384, 69_999}) {
      GrpcMessageCounter counter = new GrpcMessageCounter();
      for (int i = 0; i < all.writerIndex(); i += piece) {
        counter.consume(all.slice(i, Math.min(piece, all.writerIndex() - i)));
      }
      assertThat(counter.messages()).as("pieces of %d bytes", piece).isEqualTo(3);
    }
  }

  @Test
  void aLengthAboveTwoGibibytesIsSkippedAsUnsigned() {
    GrpcMessageCounter counter = new GrpcMessageCounter();
    counter.consume(Unpooled.buffer().writeByte(1).writeInt(0x8000_0000).writeZero(10));
    assertThat(counter.messages()).isEqualTo(1);
    counter.consume(Unpooled.buffer().writeByte(0).writeInt(4).writeZero(4));
    assertThat(counter.messages()).isEqualTo(1); // still inside the first message's bytes
  }
}
