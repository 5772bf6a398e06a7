package dev.sidecars.bench;

/**
 * One load generator's way of making a call (an HTTP request, a gRPC call) on one of its connections,
 * driven by {@link CallLoad}.
 */
interface Caller extends AutoCloseable {
  /** How a call ends: exactly one of these, once. */
  interface Outcome {
    void ok();

    void failed(String reason);
  }

  /**
   * Starts one call on connection {@code connection} (0 to the connection count less one). A blocking
   * caller reports the outcome before it returns and is called from one thread per connection; an
   * asynchronous one returns at once and reports later, from any thread.
   */
  void call(int connection, Outcome outcome);

  /** Whether {@link #call} waits for the answer (one call in flight per connection). */
  boolean blocking();

  @Override
  void close();
}
