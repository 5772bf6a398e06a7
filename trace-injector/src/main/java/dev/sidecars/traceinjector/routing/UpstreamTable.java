package dev.sidecars.traceinjector.routing;

import dev.sidecars.runtime.config.Settings;
import dev.sidecars.runtime.proxy.UpstreamProtocol;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * {@code UPSTREAMS}: service names mapped to one or more base URLs, and options after {@code ;}, e.g. {@code
 * fraud-check=http://10.0.0.5:9001|http://10.0.0.6:9001,ledger=https://ledger:443,quotes=http://quotes:50051;protocol=h2c,
 * payment=http://payment:8080;identity=spiffe://cluster.local/ns/shop/sa/payment}. {@code https://} URLs are
 * reached over TLS. {@code protocol} is {@code auto} unless set (HTTP/2 requests go out as HTTP/2, HTTP/1.1
 * ones as HTTP/1.1; over TLS, the server's ALPN choice), or {@code http1} or {@code h2c} ({@code h2} is the
 * same: HTTP/2 always, over TLS offered as the only ALPN protocol). {@code identity} (repeatable) names a
 * workload identity the server's certificate must carry instead of the host name. Names not listed are
 * reached by DNS on port 80, with {@code auto}.
 *
 * @param protocols the protocol of each listed name that does not use {@code auto}
 * @param identities the expected server identities of each listed name that has some
 */
public record UpstreamTable(Map<String, List<URI>> services, Map<String, UpstreamProtocol> protocols,
    Map<String, Set<String>> identities) {
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9]([A-Za-z0-9._-]{0,252}[A-Za-z0-9])?");
  /** A SPIFFE ID or other URI, or a DNS name: printable, without spaces, {@code ;}, {@code ,} or {@code |}. */
  private static final Pattern IDENTITY = Pattern.compile("[!-~&&[^;,|]]+");

  private static final String FORM =
      "name=http[s]://host:port[|http[s]://host:port...][;protocol=auto|http1|h2c|h2][;identity=spiffe://...], comma-separated";

  public UpstreamTable {
    services = Map.copyOf(services);
    protocols = Map.copyOf(protocols);
    identities = Map.copyOf(identities);
  }

  /** Every service with {@code auto}. */
  public UpstreamTable(Map<String, List<URI>> services) {
    this(services, Map.of(), Map.of());
  }

  /** Every service with {@code auto}, and no expected identity. */
  public UpstreamTable(Map<String, List<URI>> services, Map<String, UpstreamProtocol> protocols) {
    this(services, protocols, Map.of());
  }

  /** Reads {@code UPSTREAMS}; problems go to {@code settings}, each naming the variable. */
  public static UpstreamTable from(Settings settings, String variable) {
    Map<String, List<URI>> services = new LinkedHashMap<>();
    Map<String, UpstreamProtocol> protocols = new LinkedHashMap<>();
    Map<String, Set<String>> identities = new LinkedHashMap<>();
    for (String entry : settings.list(variable)) {
      int eq = entry.indexOf('=');
      String name = eq < 0 ? entry : entry.substring(0, eq).trim();
      if (eq < 0 || !NAME.matcher(name).matches()) {
        settings.problem(variable, entry, FORM);
        continue;
      }
      String key = name.toLowerCase(Locale.ROOT);
      String[] parts = entry.substring(eq + 1).split(";", -1);
      Set<String> expected = new LinkedHashSet<>();
      boolean bad = false;
      for (int i = 1; i < parts.length && !bad; i++) {
        String option = parts[i].trim();
        if (option.startsWith("protocol=")) {
          Optional<UpstreamProtocol> protocol = UpstreamProtocol.parse(option.substring("protocol=".length()));
          if (protocol.isEmpty()) {
            settings.problem(variable, entry, "protocol auto, http1, h2c or h2 for " + name);
            bad = true;
          } else if (protocol.get() != UpstreamProtocol.AUTO) {
            protocols.put(key, protocol.get());
          }
        } else if (option.startsWith("identity=") && IDENTITY.matcher(option.substring("identity=".length())).matches()) {
          expected.add(option.substring("identity=".length()));
        } else {
          settings.problem(variable, entry, "options ;protocol=auto|http1|h2c|h2 and ;identity=<URI or DNS name> for " + name);
          bad = true;
        }
      }
      if (bad) {
        continue;
      }
      List<URI> urls = new ArrayList<>();
      for (String url : parts[0].split("\\|")) {
        Optional<URI> uri = baseUrl(url.trim());
        if (uri.isEmpty()) {
          settings.problem(variable, entry, "http:// or https:// base URLs for " + name);
          urls.clear();
          break;
        }
        urls.add(uri.get());
      }
      if (!urls.isEmpty()) {
        if (services.put(key, List.copyOf(urls)) != null) {
          settings.problem(variable, entry, "each name once");
        }
        if (!expected.isEmpty()) {
          identities.put(key, Set.copyOf(expected));
        }
      }
    }
    return new UpstreamTable(services, protocols, identities);
  }

  /** How requests go to a listed name: {@code auto} unless {@code UPSTREAMS} said otherwise. */
  public UpstreamProtocol protocol(String name) {
    return protocols.getOrDefault(name.toLowerCase(Locale.ROOT), UpstreamProtocol.AUTO);
  }

  /** The identities a listed name's server certificate must carry one of; empty: its host name. */
  public Set<String> identities(String name) {
    return identities.getOrDefault(name.toLowerCase(Locale.ROOT), Set.of());
  }

  static Optional<URI> baseUrl(String text) {
    try {
      URI uri = new URI(text);
      String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
      if (!(scheme.equals("http") || scheme.equals("https")) || uri.getHost() == null || uri.getQuery() != null
          || uri.getFragment() != null || uri.getUserInfo() != null) {
        return Optional.empty();
      }
      int port = uri.getPort() < 0 ? (scheme.equals("https") ? 443 : 80) : uri.getPort();
      String path = uri.getRawPath() == null || uri.getRawPath().equals("/") ? "" : uri.getRawPath();
      return Optional.of(new URI(scheme, null, uri.getHost(), port, null, null, null).resolve(path.isEmpty() ? "" : path));
    } catch (URISyntaxException | IllegalArgumentException e) {
      return Optional.empty();
    }
  }

  /** The URLs of a listed name (any case), if listed. */
  public Optional<List<URI>> lookup(String name) {
    return Optional.ofNullable(services.get(name.toLowerCase(Locale.ROOT)));
  }
}
