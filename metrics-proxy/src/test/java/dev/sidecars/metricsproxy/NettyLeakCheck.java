package dev.sidecars.metricsproxy;

import io.netty.buffer.AdaptiveByteBufAllocator;
import io.netty.buffer.ByteBufAllocator;
import io.netty.util.ResourceLeakDetector;
import io.netty.util.ResourceLeakDetectorFactory;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Fails a test class when Netty's leak detector, which the build runs at {@code paranoid} (every buffer
 * tracked), found a buffer collected without being released while it ran. Registered for every
 * test class of this module (see {@code META-INF/services}); after each class it collects garbage and
 * allocates a little, which is when the detector reports what was collected unreleased.
 */
public final class NettyLeakCheck implements AfterAllCallback {
  private static final List<String> LEAKS = new CopyOnWriteArrayList<>();

  static {
    // Before any buffer class makes its detector: every detector made from now on also tells this check.
    ResourceLeakDetectorFactory.setResourceLeakDetectorFactory(new ResourceLeakDetectorFactory() {
      @Override
      public <T> ResourceLeakDetector<T> newResourceLeakDetector(Class<T> resource, int samplingInterval, long maxActive) {
        return new ResourceLeakDetector<>(resource, samplingInterval) {
          @Override
          protected boolean needReport() {
            return true;
          }

          @Override
          protected void reportTracedLeak(String resourceType, String records) {
            LEAKS.add("LEAK: " + resourceType + records);
            super.reportTracedLeak(resourceType, records);
          }

          @Override
          protected void reportUntracedLeak(String resourceType) {
            LEAKS.add("LEAK: " + resourceType);
            super.reportUntracedLeak(resourceType);
          }
        };
      }
    });
  }

  @Override
  public void afterAll(ExtensionContext context) throws InterruptedException {
    ByteBufAllocator probe = new AdaptiveByteBufAllocator(true);
    for (int i = 0; i < 3 && LEAKS.isEmpty(); i++) {
      System.gc();
      Thread.onSpinWait();
      for (int j = 0; j < 64; j++) {
        probe.directBuffer(16).release();
        ByteBufAllocator.DEFAULT.heapBuffer(16).release();
      }
    }
    if (!LEAKS.isEmpty()) {
      String first = LEAKS.get(0);
      LEAKS.clear();
      throw new AssertionError("Netty reported a leaked buffer during " + context.getDisplayName() + ":\n" + first);
    }
  }
}
