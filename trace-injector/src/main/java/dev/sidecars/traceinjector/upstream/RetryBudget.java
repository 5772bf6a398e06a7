package dev.sidecars.traceinjector.upstream;

/**
 * Bounds retries to a share of the requests (Linkerd's and Envoy's retry budget): every request adds
 * {@code ratio} of a retry to the budget, every retry takes one whole retry out. A small reserve lets a
 * quiet upstream still retry, and the balance never grows past {@code reserve + cap}, so a long good
 * spell does not buy a later retry storm. Thread-safe.
 */
public final class RetryBudget {
  private final double ratio;
  private final double reserve;
  private final double ceiling;
  private double balance;

  /**
   * @param ratio retries allowed per request, e.g. {@code 0.2} for at most 20% extra load
   * @param reserve retries allowed before any request has paid in
   * @param cap the most retries saved up beyond the reserve
   */
  public RetryBudget(double ratio, int reserve, int cap) {
    this.ratio = ratio;
    this.reserve = reserve;
    this.ceiling = reserve + (double) cap;
    this.balance = reserve;
  }

  /** Called once per original request. */
  public synchronized void deposit() {
    balance = Math.min(ceiling, balance + ratio);
  }

  /** Takes one retry out if the budget allows it. */
  public synchronized boolean tryWithdraw() {
    if (balance >= 1.0) {
      balance -= 1.0;
      return true;
    }
    return false;
  }

  public double ratio() {
    return ratio;
  }
}
