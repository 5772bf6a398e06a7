package dev.sidecars.logforwarder.ship;

/** Sends one encoded {@code ExportLogsServiceRequest} and reports the collector's answer; called from several threads at once. */
public interface LogSender {
  /**
   * Sends the first {@code length} bytes of {@code request} (holding {@code records} records) and waits
   * for the answer or the timeout.
   */
  SendResult send(byte[] request, int length, int records) throws InterruptedException;

  /** Releases connections and threads. */
  void shutdown();

  /** Where it sends, for the log: the OTLP endpoint. */
  default String endpoint() {
    return "the collector";
  }
}
