package dev.sidecars.traceinjector.upstream;

import dev.sidecars.runtime.proxy.Forwarder;
import dev.sidecars.runtime.proxy.UpstreamProtocol;
import java.net.URI;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One URL of an upstream: where the shared client connects for it (its pools are per endpoint), the requests
 * now outstanding on it, and its outlier-ejection state.
 */
final class Endpoint {
  final URI uri;
  final String authority;
  final Forwarder.Destination destination;
  final AtomicInteger outstanding = new AtomicInteger();
  private double latencyEwmaNanos;
  private int consecutiveFailures;
  private long ejectedUntil;
  private boolean ejected;

  /**
   * @param authority the {@code Host} a direct call would send: the URL's, or the name an address was resolved from
   * @param tls how connections to it speak TLS, or {@code null} for cleartext
   */
  Endpoint(URI uri, String authority, UpstreamProtocol protocol, dev.sidecars.runtime.proxy.Endpoint.Tls tls) {
    this.uri = uri;
    this.authority = authority;
    String host = uri.getHost().startsWith("[") ? uri.getHost().substring(1, uri.getHost().length() - 1) : uri.getHost();
    this.destination = new Forwarder.Destination(new dev.sidecars.runtime.proxy.Endpoint(host, uri.getPort(), tls), protocol);
  }

  /** Ejected now? Brings the endpoint back once its ejection time is over. */
  synchronized boolean isEjected(long now) {
    if (ejected && now - ejectedUntil >= 0) {
      ejected = false;
      consecutiveFailures = 0;
    }
    return ejected;
  }

  synchronized void onSuccess() {
    consecutiveFailures = 0;
  }

  /** Folds one response time into the moving average (weight {@code alpha} for the new sample). */
  synchronized void observeLatency(long nanos, double alpha) {
    latencyEwmaNanos = latencyEwmaNanos == 0 ? nanos : alpha * nanos + (1 - alpha) * latencyEwmaNanos;
  }

  /**
   * The balancer's cost of sending one more request here: expected latency times the requests it would
   * queue behind (Linkerd's and Finagle's peak-EWMA idea, without the peak). An endpoint not measured
   * yet costs least, so it gets tried.
   */
  synchronized double cost() {
    return (latencyEwmaNanos + 1_000_000) * (outstanding.get() + 1);
  }

  /** Counts a failure; returns whether this endpoint now qualifies for ejection. */
  synchronized boolean onFailure(int ejectAfter) {
    consecutiveFailures++;
    return !ejected && consecutiveFailures >= ejectAfter;
  }

  synchronized void eject(long until) {
    ejected = true;
    ejectedUntil = until;
  }

  @Override
  public String toString() {
    return uri.toString();
  }
}
