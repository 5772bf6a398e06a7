package dev.sidecars.collector.ingest;

/** A request body the collector cannot decode; answered 400 with this message. */
public final class MalformedRequestException extends Exception {
  private static final long serialVersionUID = 1L;

  public MalformedRequestException(String message) {
    super(message);
  }
}
