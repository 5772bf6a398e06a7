package dev.sidecars.logforwarder.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sidecars.logforwarder.parse.FileAttributes;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/** A fingerprint's bytes and hash always belong together, also while another thread grows it. */
class FingerprintTest {
  private static final byte[] CONTENT = "2026-11-25 INFO first line of the file, long enough to grow a fingerprint over many steps\n"
      .repeat(12).getBytes(StandardCharsets.UTF_8);

  @Test
  void isACopyOfTheBytesWithTheirOwnHash() {
    byte[] head = Arrays.copyOf(CONTENT, 10);
    Fingerprint fp = Fingerprint.of(head);
    head[0] = 'X';
    assertThat(fp.length()).isEqualTo(10);
    assertThat(fp.matches(Arrays.copyOf(CONTENT, 10))).isTrue();
    assertThat(fp.sha256()).isEqualTo(FileIdentity.sha256(CONTENT, 10));
    assertThat(fp.sameContent(CONTENT)).isTrue();
    assertThat(Fingerprint.of(new byte[0])).isSameAs(Fingerprint.EMPTY);
  }

  @Test
  void aCheckpointTakenWhileTheFingerprintGrowsPairsTheLengthWithTheHashOfThatLength() throws Exception {
    List<String> hashes = new ArrayList<>();
    for (int n = 0; n <= CONTENT.length; n++) {
      hashes.add(FileIdentity.sha256(CONTENT, n));
    }
    FileIdentity identity = new FileIdentity(Arrays.copyOf(CONTENT, 1), 0, "/logs/app.log",
        FileAttributes.of("/logs/app.log", "app.log"));
    AtomicBoolean running = new AtomicBoolean(true);
    // The tailer's part: the fingerprint grows as the file does (and starts over, to keep changing it).
    Thread grower = new Thread(() -> {
      for (int n = 1; running.get(); n = n % CONTENT.length + 1) {
        identity.setFingerprint(Arrays.copyOf(CONTENT, n));
      }
    });
    grower.start();
    try {
      // The shipper's part: positions taken for the checkpoint file at the same time.
      long end = System.nanoTime() + 1_000_000_000L;
      long checked = 0;
      while (System.nanoTime() < end) {
        Checkpoint c = identity.checkpoint();
        assertThat(c.fingerprintSha256()).as("hash saved with length %d", c.fingerprintLength())
            .isEqualTo(hashes.get(c.fingerprintLength()));
        checked++;
      }
      assertThat(checked).isPositive();
    } finally {
      running.set(false);
      grower.join();
    }
  }
}
