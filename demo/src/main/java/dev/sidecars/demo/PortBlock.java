package dev.sidecars.demo;

import dev.sidecars.runtime.PortInUseException;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.List;

/**
 * The fixed ports a demo on {@code DEMO_PORT_BASE} needs, checked all at once before anything starts, so a
 * taken port is reported first, by name and owner, instead of as the last output of a child that failed.
 */
public final class PortBlock {
  private PortBlock() {}

  /**
   * One port of the block: the variable that sets it, its number, and the process it is for (e.g.
   * {@code payment's metrics-proxy}).
   */
  public record Port(String variable, int number, String owner) {
    /** {@code ADMIN_PORT 17090 of payment's metrics-proxy is in use}. */
    public String inUse() {
      return PortInUseException.describe(variable, number, owner);
    }
  }

  /** The ports of {@code ports} that cannot be listened on at {@code address} now, in the order given. */
  public static List<Port> taken(List<Port> ports, InetAddress address) {
    List<Port> taken = new ArrayList<>();
    for (Port port : ports) {
      try (ServerSocket socket = new ServerSocket()) {
        socket.bind(new InetSocketAddress(address, port.number()));
      } catch (IOException e) {
        taken.add(port);
      }
    }
    return taken;
  }

  /**
   * What the launcher prints when {@code taken} is not empty: the cause first (each taken port and its owner),
   * then what to do.
   */
  public static List<String> report(List<Port> taken, int base) {
    List<String> lines = new ArrayList<>();
    lines.add("cannot start: " + (taken.size() == 1 ? "a port" : taken.size() + " ports")
        + " of the demo's block " + base + "-" + (base + 99) + (taken.size() == 1 ? " is" : " are") + " in use:");
    taken.forEach(port -> lines.add("  " + port.inUse()));
    lines.add("Another demo may still be running (Ctrl-C in its terminal stops it); `ss -ltnp 'sport = :"
        + taken.get(0).number() + "'` shows which program holds the port.");
    lines.add("Or run on free ports: DEMO_PORT_BASE=0 ./run-local.sh (the launcher prints them), or move the"
        + " block: DEMO_PORT_BASE=" + (base == 18000 ? 19000 : 18000) + " ./run-local.sh");
    return lines;
  }
}
