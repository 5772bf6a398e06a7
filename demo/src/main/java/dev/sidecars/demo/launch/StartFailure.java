package dev.sidecars.demo.launch;

/** A process of the topology did not come up; by the time this is thrown, nothing the group started runs. */
public final class StartFailure extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final String process;

  StartFailure(String process, String reason) {
    super(process + " did not start: " + reason);
    this.process = process;
  }

  /** The name of the process that failed. */
  public String process() {
    return process;
  }
}
