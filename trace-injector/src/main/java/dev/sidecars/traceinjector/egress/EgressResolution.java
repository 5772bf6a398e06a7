package dev.sidecars.traceinjector.egress;

import dev.sidecars.runtime.dns.HostResolver;
import dev.sidecars.runtime.http.ResponseFlag;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import dev.sidecars.runtime.proxy.ProxyExchange;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;

/**
 * Decides where a call that {@code UPSTREAMS} does not name may go: the {@link EgressPolicy} on the name and
 * port, then the name resolved by the {@link HostResolver} (never on the I/O thread), then the policy on the
 * address. Refusals are counted in {@code trace_injector_egress_refused_total} by {@code reason}. The answer
 * comes to a {@link Continuation} on the exchange's event loop: at once when no lookup is needed (an
 * address, a cached name), else once the lookup ends, or when the call's timeout passes first.
 */
public final class EgressResolution {
  /** Where a call may go, or why not. */
  public sealed interface Result permits Allowed, Refused {}

  /** The call may go to {@code address}. */
  public record Allowed(InetAddress address) implements Result {}

  /** The call is refused with {@code status}, flagged {@code flag}, and the client is told {@code reason}. */
  public record Refused(ResponseFlag flag, int status, String reason) implements Result {}

  /** What to do with the answer, on the exchange's event loop. */
  @FunctionalInterface
  public interface Continuation {
    void accept(ProxyExchange exchange, Result result);
  }

  private final EgressPolicy policy;
  private final HostResolver resolver;
  private final Function<String, Duration> timeoutFor;
  private final Map<EgressPolicy.Refusal, Counter> refusals = new EnumMap<>(EgressPolicy.Refusal.class);

  /** @param timeoutFor the longest a call to a host (by its upstream name) may wait for its lookup */
  public EgressResolution(EgressPolicy policy, HostResolver resolver, Function<String, Duration> timeoutFor, MeterRegistry meters) {
    this.policy = policy;
    this.resolver = resolver;
    this.timeoutFor = timeoutFor;
    for (EgressPolicy.Refusal reason : EgressPolicy.Refusal.values()) {
      refusals.put(reason, Counter.builder("trace_injector.egress.refused")
          .description("Calls refused because the egress policy does not allow their destination, by reason")
          .tag("reason", reason.tag())
          .register(meters));
    }
  }

  /**
   * Checks {@code host} (lower case) and {@code port} for a plain request or a {@code CONNECT}, resolving the
   * host when it is a name, and passes the answer to {@code next}.
   */
  public void resolve(ProxyExchange exchange, String host, int port, boolean connect, Continuation next) {
    String bare = host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
    EgressPolicy.Verdict verdict = policy.check(bare, port, connect);
    if (!verdict.allowed()) {
      next.accept(exchange, refused(verdict.refusal(), host, port, connect));
      return;
    }
    InetAddress literal = literal(bare);
    if (literal != null) {
      next.accept(exchange, checked(new HostResolver.Result(literal, null), verdict, host, port));
      return;
    }
    HostResolver.Result cached = resolver.cached(bare);
    if (cached != null) {
      next.accept(exchange, checked(cached, verdict, host, port));
      return;
    }
    lookUp(exchange, bare, host, port, verdict, next);
  }

  private void lookUp(ProxyExchange exchange, String bare, String host, int port, EgressPolicy.Verdict verdict,
      Continuation next) {
    AtomicBoolean settled = new AtomicBoolean();
    Duration timeout = timeoutFor.apply(port == 80 ? host : host + ":" + port);
    ScheduledFuture<?> timer = timeout.isZero() ? null : exchange.eventLoop().schedule(() -> {
      if (settled.compareAndSet(false, true)) {
        resolver.timedOut();
        continueOnIoThread(exchange, next, new Refused(ResponseFlag.DNS_RESOLUTION_FAILED, 502,
            "looking up " + host + " took longer than " + timeout.toMillis() + " ms"));
      }
    }, timeout.toMillis(), TimeUnit.MILLISECONDS);
    boolean queued = resolver.resolve(bare, result -> {
      if (settled.compareAndSet(false, true)) {
        if (timer != null) {
          timer.cancel(false);
        }
        continueOnIoThread(exchange, next, checked(result, verdict, host, port));
      }
    });
    if (!queued && settled.compareAndSet(false, true)) {
      if (timer != null) {
        timer.cancel(false);
      }
      continueOnIoThread(exchange, next, new Refused(ResponseFlag.DNS_RESOLUTION_FAILED, 502,
          "cannot look up " + host + " now: too many lookups are waiting"));
    }
  }

  private static void continueOnIoThread(ProxyExchange exchange, Continuation next, Result result) {
    exchange.eventLoop().execute(() -> {
      if (!exchange.isComplete()) { // else the client went away meanwhile
        next.accept(exchange, result);
      }
    });
  }

  private Result checked(HostResolver.Result resolved, EgressPolicy.Verdict verdict, String host, int port) {
    if (!resolved.resolved()) {
      return new Refused(ResponseFlag.DNS_RESOLUTION_FAILED, 502, resolved.failure());
    }
    if (!verdict.exact() && !policy.addressAllowed(resolved.address())) {
      refusals.get(EgressPolicy.Refusal.ADDRESS).increment();
      return new Refused(ResponseFlag.EGRESS_DENIED, 403, host + " resolves to " + resolved.address().getHostAddress()
          + ", a loopback, link-local or own address: list it exactly in EGRESS_ALLOW to allow it");
    }
    return new Allowed(resolved.address());
  }

  private Refused refused(EgressPolicy.Refusal reason, String host, int port, boolean connect) {
    refusals.get(reason).increment();
    String what = connect ? "CONNECT to " + host + ":" + port : host + (port == 80 ? "" : ":" + port);
    return new Refused(ResponseFlag.EGRESS_DENIED, 403, what + " is not allowed by EGRESS_ALLOW or UPSTREAMS");
  }

  /** The address {@code host} spells, or {@code null} when it is a name (never looked up here). */
  private static InetAddress literal(String host) {
    boolean v6 = host.indexOf(':') >= 0;
    if (!v6) {
      for (int i = 0; i < host.length(); i++) {
        char c = host.charAt(i);
        if ((c < '0' || c > '9') && c != '.') {
          return null;
        }
      }
    }
    try {
      return InetAddress.getByName(host); // an address literal: parsed, never looked up
    } catch (UnknownHostException e) {
      return null;
    }
  }
}
