package dev.sidecars.logforwarder.tail;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class LineSplitterTest {
  private static int naive(byte[] buf, int from, int to) {
    for (int i = from; i < to; i++) {
      if (buf[i] == '\n') {
        return i;
      }
    }
    return -1;
  }

  @Test
  void findsTheFirstNewlineWhereverItIsAndWhateverSurroundsIt() {
    // Bytes next to '\n' in value (0x09, 0x0B, 0x8A, 0x0A + 0x80) and 0x00/0xFF, which trip naive
    // word-at-a-time tricks, at every position and alignment.
    byte[] alphabet = {'\n', 0x09, 0x0B, (byte) 0x8A, 0x00, (byte) 0xFF, 'a', 0x01};
    Random random = new Random(7);
    for (int round = 0; round < 20_000; round++) {
      byte[] buf = new byte[random.nextInt(40)];
      for (int i = 0; i < buf.length; i++) {
        buf[i] = random.nextInt(4) == 0 ? alphabet[random.nextInt(alphabet.length)] : (byte) random.nextInt(256);
      }
      int from = buf.length == 0 ? 0 : random.nextInt(buf.length);
      int to = from + (buf.length == from ? 0 : random.nextInt(buf.length - from + 1));
      assertThat(LineSplitter.indexOfNewline(buf, from, to)).as("round %d", round).isEqualTo(naive(buf, from, to));
    }
  }

  @Test
  void splitsLinesAcrossReadsAndDropsTheCarriageReturn() throws Exception {
    LineSplitter splitter = new LineSplitter(1024);
    List<String> lines = new ArrayList<>();
    List<Long> ends = new ArrayList<>();
    LineSplitter.Sink sink = (bytes, offset, length, truncated, end) -> {
      lines.add(new String(bytes, offset, length, StandardCharsets.UTF_8));
      ends.add(end);
    };
    byte[] first = "one\r\ntwo is longer than eight\nthr".getBytes(StandardCharsets.UTF_8);
    byte[] second = "ee\n\nfive".getBytes(StandardCharsets.UTF_8);
    splitter.feed(first, 0, first.length, 0, sink);
    splitter.feed(second, 0, second.length, first.length, sink);

    assertThat(lines).containsExactly("one", "two is longer than eight", "three", "");
    assertThat(ends).containsExactly(5L, 30L, 36L, 37L);
    assertThat(splitter.hasPartial()).isTrue();
  }
}
