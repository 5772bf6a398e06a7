package dev.sidecars.traceinjector.egress;

import dev.sidecars.runtime.config.Settings;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Where the app may send calls that {@code UPSTREAMS} does not name ({@code EGRESS_ALLOW}), so the sidecar is
 * no open relay. Comma-separated entries {@code host[:port]}: an exact name or address, {@code *.suffix} for
 * every name under a suffix, {@code *} for a name of one label (a service of the pod's own namespace), {@code
 * **} for any host. Without a port an entry allows any port for plain HTTP and 443 for {@code CONNECT}; with
 * one, only that port. The default, {@code *,*.svc,*.svc.cluster.local}, allows the cluster's service names.
 *
 * <p>Whatever the entries, a name reached through a pattern never goes to a loopback, unspecified or
 * link-local address (the pod's own admin ports, a cloud's metadata service) nor to an address of this host:
 * only an entry naming that host or address exactly allows it. The check is a hash lookup and a few suffix
 * comparisons, built once.
 */
public final class EgressPolicy {
  /** The value when {@code EGRESS_ALLOW} is unset. */
  public static final String DEFAULT = "*,*.svc,*.svc.cluster.local";
  private static final int ANY_PORT = -1;
  private static final int HTTPS = 443;
  private static final Pattern LABEL = Pattern.compile("[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?");

  /** Why a destination was refused, also the {@code reason} tag of the refusal counter. */
  public enum Refusal {
    /** No entry names the host. */
    HOST("host"),
    /** An entry names the host, not on this port. */
    PORT("port"),
    /** The host is allowed by a pattern, and its address is loopback, link-local or this host's own. */
    ADDRESS("address");

    private final String tag;

    Refusal(String tag) {
      this.tag = tag;
    }

    public String tag() {
      return tag;
    }
  }

  /**
   * What the policy says of a host and port: allowed or not, and whether an entry named the host exactly
   * (then its address is not checked).
   */
  public record Verdict(Refusal refusal, boolean exact) {
    static final Verdict ALLOWED_BY_PATTERN = new Verdict(null, false);
    static final Verdict ALLOWED_EXACTLY = new Verdict(null, true);

    public boolean allowed() {
      return refusal == null;
    }
  }

  private record Suffix(String suffix, int port) {}

  private final Map<String, Set<Integer>> exact;
  private final List<Suffix> suffixes;
  private final Set<Integer> singleLabelPorts;
  private final Set<Integer> anyHostPorts;
  private final Set<InetAddress> ownAddresses;

  private EgressPolicy(Map<String, Set<Integer>> exact, List<Suffix> suffixes, Set<Integer> singleLabelPorts,
      Set<Integer> anyHostPorts, Set<InetAddress> ownAddresses) {
    this.exact = Map.copyOf(exact);
    this.suffixes = List.copyOf(suffixes);
    this.singleLabelPorts = Set.copyOf(singleLabelPorts);
    this.anyHostPorts = Set.copyOf(anyHostPorts);
    this.ownAddresses = Set.copyOf(ownAddresses);
  }

  /** Reads {@code EGRESS_ALLOW}; a bad entry is reported to {@code settings} naming the variable. */
  public static EgressPolicy from(Settings settings) {
    return parse(settings, settings.string("EGRESS_ALLOW", DEFAULT), localAddresses());
  }

  static EgressPolicy parse(Settings settings, String value, Set<InetAddress> ownAddresses) {
    Map<String, Set<Integer>> exact = new HashMap<>();
    List<Suffix> suffixes = new ArrayList<>();
    Set<Integer> singleLabel = new HashSet<>();
    Set<Integer> anyHost = new HashSet<>();
    for (String raw : value.split(",")) {
      String entry = raw.trim().toLowerCase(Locale.ROOT);
      if (entry.isEmpty()) {
        continue;
      }
      String host = entry;
      int port = ANY_PORT;
      int colon = entry.lastIndexOf(':');
      if (colon > 0 && entry.indexOf(']') < colon && entry.indexOf(':') == colon) {
        host = entry.substring(0, colon);
        port = parsePort(entry.substring(colon + 1));
      } else if (entry.startsWith("[") && entry.contains("]:")) {
        host = entry.substring(0, entry.indexOf("]:") + 1);
        port = parsePort(entry.substring(entry.indexOf("]:") + 2));
      }
      host = host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
      if (port == 0 || !validHost(host)) {
        settings.problem("EGRESS_ALLOW", raw.trim(),
            "comma-separated host[:port] entries: a name or address, *.suffix, * (one-label names) or ** (any host)");
        continue;
      }
      if (host.equals("**")) {
        anyHost.add(port);
      } else if (host.equals("*")) {
        singleLabel.add(port);
      } else if (host.startsWith("*.")) {
        suffixes.add(new Suffix(host.substring(1), port));
      } else {
        exact.computeIfAbsent(host, h -> new HashSet<>()).add(port);
      }
    }
    return new EgressPolicy(exact, suffixes, singleLabel, anyHost, ownAddresses);
  }

  private static int parsePort(String text) {
    try {
      int port = Integer.parseInt(text);
      return port >= 1 && port <= 65535 ? port : 0;
    } catch (NumberFormatException e) {
      return 0;
    }
  }

  private static boolean validHost(String host) {
    if (host.equals("*") || host.equals("**")) {
      return true;
    }
    String name = host.startsWith("*.") ? host.substring(2) : host;
    if (name.indexOf(':') >= 0) {
      return name.matches("[0-9a-f:.]+"); // an IPv6 address
    }
    if (name.isEmpty() || name.length() > 253) {
      return false;
    }
    for (String label : name.split("\\.", -1)) {
      if (!LABEL.matcher(label).matches()) {
        return false;
      }
    }
    return true;
  }

  /**
   * Whether the app may call {@code host} (lower case, brackets of an IPv6 address removed) on {@code port},
   * through a plain HTTP request or a {@code CONNECT} tunnel.
   */
  public Verdict check(String host, int port, boolean connect) {
    Set<Integer> ports = exact.get(host);
    if (ports != null) {
      return allows(ports, port, connect) ? Verdict.ALLOWED_EXACTLY : new Verdict(Refusal.PORT, true);
    }
    boolean named = false;
    if (!anyHostPorts.isEmpty()) {
      if (allows(anyHostPorts, port, connect)) {
        return Verdict.ALLOWED_BY_PATTERN;
      }
      named = true;
    }
    if (!singleLabelPorts.isEmpty() && host.indexOf('.') < 0 && host.indexOf(':') < 0) {
      if (allows(singleLabelPorts, port, connect)) {
        return Verdict.ALLOWED_BY_PATTERN;
      }
      named = true;
    }
    for (Suffix suffix : suffixes) {
      if (host.endsWith(suffix.suffix) && host.length() > suffix.suffix.length()) {
        if (allows(suffix.port, port, connect)) {
          return Verdict.ALLOWED_BY_PATTERN;
        }
        named = true;
      }
    }
    return new Verdict(named ? Refusal.PORT : Refusal.HOST, false);
  }

  private static boolean allows(Set<Integer> ports, int port, boolean connect) {
    for (int allowed : ports) {
      if (allows(allowed, port, connect)) {
        return true;
      }
    }
    return false;
  }

  private static boolean allows(int allowed, int port, boolean connect) {
    return allowed == ANY_PORT ? !connect || port == HTTPS : allowed == port;
  }

  /**
   * Whether a host allowed by a pattern may be reached at {@code address}: never loopback, unspecified,
   * link-local or this host's own (where the sidecars' admin ports listen).
   */
  public boolean addressAllowed(InetAddress address) {
    return !(address.isLoopbackAddress() || address.isAnyLocalAddress() || address.isLinkLocalAddress()
        || address.isMulticastAddress() || ownAddresses.contains(address));
  }

  /** The addresses of this host's interfaces, read once at start (a pod's do not change). */
  static Set<InetAddress> localAddresses() {
    Set<InetAddress> addresses = new HashSet<>();
    try {
      for (NetworkInterface nic : Collections.list(NetworkInterface.getNetworkInterfaces())) {
        addresses.addAll(Collections.list(nic.getInetAddresses()));
      }
    } catch (SocketException e) {
      // No interfaces to read: loopback and link-local are refused by their kind anyway.
    }
    return addresses;
  }
}
