package dev.sidecars.runtime.dns;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.channel.EventLoop;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.resolver.AddressResolver;
import io.netty.util.concurrent.Future;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The resolvers a pooled connect's {@code Bootstrap} uses, on a real event loop: names are looked up on the
 * {@link HostResolver}'s threads while the loop goes on, address literals never are, and a name that does
 * not resolve, a full queue or a lookup past the timeout fail the connect with an {@link
 * UnknownHostException}, counted by reason.
 */
class HostResolverGroupTest {
  private static final String FAILURES = "test.dns.failures";

  private final MultiThreadIoEventLoopGroup loops = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
  private final EventLoop loop = loops.next();
  private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
  private final CountDownLatch release = new CountDownLatch(1);
  /** Which thread looked each name up. */
  private final Map<String, String> lookedUpOn = new ConcurrentHashMap<>();
  private HostResolver resolver;
  private HostResolverGroup group;

  /** {@code slow*} waits for {@link #release}, {@code missing*} does not resolve, any other name is 127.0.0.1. */
  private void start(int threads, int queue, Duration timeout) {
    resolver = new HostResolver(host -> {
      lookedUpOn.put(host, Thread.currentThread().getName());
      if (host.startsWith("slow")) {
        try {
          release.await(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      if (host.startsWith("missing")) {
        throw new UnknownHostException(host);
      }
      return InetAddress.getByAddress(host, new byte[] {127, 0, 0, 1});
    }, threads, queue, Duration.ofSeconds(30), Duration.ofSeconds(5), System::nanoTime, meters, FAILURES);
    group = new HostResolverGroup(resolver, timeout);
  }

  @AfterEach
  void stop() {
    release.countDown();
    if (group != null) {
      group.close();
    }
    if (resolver != null) {
      resolver.close();
    }
    loops.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
  }

  /** Resolves {@code host:80} as a connect on {@link #loop} does: from the loop. */
  private Future<InetSocketAddress> resolve(String host) throws Exception {
    return loop.submit(() -> group.getResolver(loop).resolve(InetSocketAddress.createUnresolved(host, 80)))
        .get(10, TimeUnit.SECONDS);
  }

  private double failures(String reason) {
    return meters.get(FAILURES).tag("reason", reason).counter().count();
  }

  @Test
  void aNameIsLookedUpOffTheLoopWhichGoesOnMeanwhile() throws Exception {
    start(2, 4, Duration.ofSeconds(30));
    Future<InetSocketAddress> slow = resolve("slow.test");
    await().atMost(Duration.ofSeconds(10)).until(() -> lookedUpOn.containsKey("slow.test"));
    assertThat(lookedUpOn.get("slow.test")).isEqualTo("dns-resolver");
    // The lookup is stuck, the loop is not: it runs other work and resolves other names.
    assertThat(loop.submit(() -> "free").get(5, TimeUnit.SECONDS)).isEqualTo("free");
    Future<InetSocketAddress> other = resolve("other.test");
    assertThat(other.await(10, TimeUnit.SECONDS)).isTrue();
    assertThat(other.getNow()).isEqualTo(new InetSocketAddress(InetAddress.getByAddress("other.test", new byte[] {127, 0, 0, 1}), 80));
    assertThat(slow.isDone()).isFalse();

    AtomicBoolean onTheLoop = new AtomicBoolean();
    slow.addListener(f -> onTheLoop.set(loop.inEventLoop()));
    release.countDown();
    assertThat(slow.await(10, TimeUnit.SECONDS)).isTrue();
    assertThat(slow.getNow().getAddress().getHostAddress()).isEqualTo("127.0.0.1");
    assertThat(slow.getNow().getPort()).isEqualTo(80);
    await().atMost(Duration.ofSeconds(10)).untilTrue(onTheLoop); // the connect goes on on its own loop
  }

  @Test
  void anAddressLiteralIsNeverLookedUp() throws Exception {
    start(1, 1, Duration.ofSeconds(30));
    resolve("slow.test"); // the only resolver thread is stuck...
    await().atMost(Duration.ofSeconds(10)).until(() -> lookedUpOn.containsKey("slow.test"));
    for (String literal : List.of("127.0.0.1", "::1")) {
      Future<InetSocketAddress> resolved = resolve(literal);
      assertThat(resolved.isDone()).as("%s, at once", literal).isTrue(); // ...and literals are answered at once
      assertThat(resolved.getNow().getAddress()).isEqualTo(InetAddress.getByName(literal));
    }
    assertThat(lookedUpOn).containsOnlyKeys("slow.test");
  }

  @Test
  void aCachedAnswerIsTakenWithoutALookup() throws Exception {
    start(1, 1, Duration.ofSeconds(30));
    assertThat(resolve("cached.test").await(10, TimeUnit.SECONDS)).isTrue();
    lookedUpOn.clear();
    Future<InetSocketAddress> again = resolve("cached.test");
    assertThat(again.isDone()).isTrue();
    assertThat(again.getNow().getAddress().getHostAddress()).isEqualTo("127.0.0.1");
    assertThat(lookedUpOn).isEmpty();
  }

  @Test
  void aNameThatDoesNotResolveFailsTheConnectAndIsCountedOnce() throws Exception {
    start(1, 1, Duration.ofSeconds(30));
    Future<InetSocketAddress> missing = resolve("missing.test");
    assertThat(missing.await(10, TimeUnit.SECONDS)).isTrue();
    assertThat(missing.cause()).isInstanceOf(UnknownHostException.class).hasMessageContaining("missing.test");
    // The failure is kept for a while: the next connect fails at once, without a lookup.
    lookedUpOn.clear();
    Future<InetSocketAddress> again = resolve("missing.test");
    assertThat(again.isDone()).isTrue();
    assertThat(again.cause()).isInstanceOf(UnknownHostException.class);
    assertThat(lookedUpOn).isEmpty();
    assertThat(failures("not_found")).isEqualTo(1.0);
  }

  @Test
  void aFullQueueFailsTheConnectAtOnce() throws Exception {
    start(1, 1, Duration.ofSeconds(30));
    Future<InetSocketAddress> running = resolve("slow1.test");
    await().atMost(Duration.ofSeconds(10)).until(() -> lookedUpOn.containsKey("slow1.test"));
    Future<InetSocketAddress> queued = resolve("slow2.test");
    Future<InetSocketAddress> refused = resolve("slow3.test");
    assertThat(refused.isDone()).isTrue();
    assertThat(refused.cause()).isInstanceOf(UnknownHostException.class).hasMessageContaining("slow3.test");
    assertThat(failures("queue_full")).isEqualTo(1.0);
    assertThat(running.isDone()).isFalse();
    assertThat(queued.isDone()).isFalse();
  }

  @Test
  void aLookupLongerThanTheTimeoutFailsTheConnectAndIsCounted() throws Exception {
    start(1, 1, Duration.ofMillis(200));
    Future<InetSocketAddress> slow = resolve("slow.test");
    assertThat(slow.await(10, TimeUnit.SECONDS)).isTrue();
    assertThat(slow.cause()).isInstanceOf(UnknownHostException.class).hasMessageContaining("took longer than 200 ms");
    assertThat(failures("timeout")).isEqualTo(1.0);
  }
}
