package dev.sidecars.bench;

import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.IntFunction;
import org.HdrHistogram.Histogram;

/**
 * The phases that bench/grpc.sh and bench/tls.sh run through one load generator (GrpcLoad, HttpLoad),
 * in one JVM so the generator itself is warm when it measures, and the RESULT lines the scripts read:
 *
 * <ol>
 *   <li>{@code warmup}: paced, at the measured rate, on the connections the paced phase then uses;
 *   <li>{@code paced}: the fixed-rate phase (latency from each call's due time, see {@link CallLoad}),
 *       with the watched processes' RSS sampled every second;
 *   <li>{@code max}: the closed loop on new connections, for the most calls per second.
 * </ol>
 *
 * <p>Each line: {@code RESULT phase=... calls ok errors seconds rate p50_us p90_us p99_us p999_us max_us
 * hop_cpu_ms client_cpu_ms rss_median_kb rss_max_kb} ({@code hop_*} and {@code rss_*} are of the
 * {@code --watch} processes, {@code -} when none; {@code errors} counts every call that did not succeed,
 * failed or unfinished). Exit 0 when the run happened, whatever failed in it
 * (the failures are in the lines, and their reasons on stderr); 64 on bad options.
 */
final class LoadRun {
  static final String OPTIONS = "[--rate=1000] [--connections=10] [--warmup=40s] [--duration=20s]"
      + " [--max-duration=10s] [--max-connections=N] [--timeout=10s] [--watch=PID,...] [--probe]";

  /** The options every generator shares. {@code streams}: calls in flight per connection at max. */
  record Settings(double rate, int connections, Duration warmup, Duration duration, Duration maxDuration,
      int maxConnections, int streams, Duration timeout, String watch, boolean probe) {

    static Settings parse(Args a, int defaultMaxConnections, int streams) {
      return new Settings(
          a.positiveDouble("rate", 1000),
          a.positive("connections", 10),
          a.duration("warmup", "40s"),
          a.duration("duration", "20s"),
          a.duration("max-duration", "10s"),
          a.positive("max-connections", defaultMaxConnections),
          streams,
          a.duration("timeout", "10s"),
          a.string("watch", ""),
          a.flag("probe"));
    }
  }

  private LoadRun() {}

  /** Runs the phases, or with {@code --probe} one call (exit 0 when it succeeded, 1 with the reason). */
  static int run(Settings s, IntFunction<Caller> open, PrintStream out) throws InterruptedException {
    if (s.probe()) {
      return probe(s, open, out);
    }
    CallLoad load = new CallLoad(Ticker.SYSTEM);
    ProcessWatch watch = ProcessWatch.of(s.watch());
    long drain = s.timeout().toNanos() + TimeUnit.SECONDS.toNanos(1);
    try (Caller caller = open.apply(s.connections())) {
      if (!s.warmup().isZero()) {
        Measured m = measure(watch, false,
            () -> load.paced(caller, s.connections(), s.rate(), s.warmup().toNanos(), drain));
        report(out, "warmup", m, pacedSeconds(m.stats, s.warmup(), s.rate()));
      }
      Measured m = measure(watch, true,
          () -> load.paced(caller, s.connections(), s.rate(), s.duration().toNanos(), drain));
      report(out, "paced", m, pacedSeconds(m.stats, s.duration(), s.rate()));
    }
    if (!s.maxDuration().isZero()) {
      try (Caller caller = open.apply(s.maxConnections())) {
        int concurrency = s.maxConnections() * (caller.blocking() ? 1 : s.streams());
        Measured m = measure(watch, false,
            () -> load.max(caller, s.maxConnections(), concurrency, s.maxDuration().toNanos(), drain));
        report(out, "max", m, (m.stats.lastEnd() - m.stats.start()) / 1e9);
      }
    }
    return 0;
  }

  private static int probe(Settings s, IntFunction<Caller> open, PrintStream out) throws InterruptedException {
    CountDownLatch done = new CountDownLatch(1);
    AtomicReference<String> failure = new AtomicReference<>();
    try (Caller caller = open.apply(1)) {
      caller.call(0, new Caller.Outcome() {
        @Override
        public void ok() {
          done.countDown();
        }

        @Override
        public void failed(String reason) {
          failure.set(reason);
          done.countDown();
        }
      });
      if (!done.await(s.timeout().toNanos() + TimeUnit.SECONDS.toNanos(1), TimeUnit.NANOSECONDS)) {
        failure.set("no answer within " + s.timeout());
      }
    }
    out.println(failure.get() == null ? "PROBE ok" : "PROBE failed " + failure.get());
    return failure.get() == null ? 0 : 1;
  }

  /** A paced phase lasts its duration unless the generator fell behind sending. */
  private static double pacedSeconds(CallStats stats, Duration duration, double rate) {
    double sending = (stats.lastIssue() - stats.start()) / 1e9 + 1 / rate;
    return Math.max(duration.toNanos() / 1e9, sending);
  }

  interface Phase {
    CallStats run() throws InterruptedException;
  }

  record Measured(CallStats stats, long hopCpuMs, long clientCpuMs, List<Long> rssKb) {}

  private static Measured measure(ProcessWatch watch, boolean sampleRss, Phase phase) throws InterruptedException {
    com.sun.management.OperatingSystemMXBean os =
        (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    List<Long> rss = Collections.synchronizedList(new ArrayList<>());
    // RSS once a second: one reading of a JVM varies by about 10 MB (collections, the JIT's work areas).
    Thread sampler = null;
    if (sampleRss && watch.watching()) {
      sampler = new Thread(() -> {
        try {
          while (true) {
            TimeUnit.SECONDS.sleep(1);
            long kb = watch.rssKb();
            if (kb > 0) { // 0: nothing readable (the process gone): no reading rather than a false one
              rss.add(kb);
            }
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }, "rss-sampler");
      sampler.setDaemon(true);
      sampler.start();
    }
    Duration hop0 = watch.cpu();
    long client0 = os.getProcessCpuTime();
    CallStats stats = phase.run();
    long clientMs = (os.getProcessCpuTime() - client0) / 1_000_000;
    long hopMs = watch.cpu().minus(hop0).toMillis();
    if (sampler != null) {
      sampler.interrupt();
      sampler.join();
    }
    return new Measured(stats, watch.watching() ? hopMs : -1, clientMs, List.copyOf(rss));
  }

  private static void report(PrintStream out, String phase, Measured m, double seconds) {
    CallStats st = m.stats();
    Histogram h = st.histogram();
    List<Long> rss = new ArrayList<>(m.rssKb());
    Collections.sort(rss);
    String rssMedian = rss.isEmpty() ? "-" : Long.toString(rss.get((rss.size() - 1) / 2));
    String rssMax = rss.isEmpty() ? "-" : Long.toString(rss.get(rss.size() - 1));
    out.printf(Locale.ROOT,
        "RESULT phase=%s calls=%d ok=%d errors=%d seconds=%.3f rate=%.1f p50_us=%d p90_us=%d p99_us=%d"
            + " p999_us=%d max_us=%d hop_cpu_ms=%s client_cpu_ms=%d rss_median_kb=%s rss_max_kb=%s%n",
        phase, st.issued(), st.ok(), st.issued() - st.ok(), seconds, st.ok() / seconds,
        h.getValueAtPercentile(50), h.getValueAtPercentile(90), h.getValueAtPercentile(99),
        h.getValueAtPercentile(99.9), h.getMaxValue(), m.hopCpuMs() < 0 ? "-" : Long.toString(m.hopCpuMs()),
        m.clientCpuMs(), rssMedian, rssMax);
    out.flush();
    st.reasons().forEach((reason, n) -> System.err.printf(Locale.ROOT, "[load] %s: %d x %s%n", phase, n, reason));
  }
}
