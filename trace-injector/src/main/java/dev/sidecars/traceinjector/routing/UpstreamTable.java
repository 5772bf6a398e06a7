package dev.sidecars.traceinjector.routing;

import dev.sidecars.runtime.config.Settings;
import dev.sidecars.runtime.proxy.UpstreamProtocol;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * {@code UPSTREAMS}: service names mapped to one or more base URLs, and optionally the protocol requests go
 * to them in, e.g. {@code
 * fraud-check=http://10.0.0.5:9001|http://10.0.0.6:9001,ledger=http://ledger:80,quotes=http://quotes:50051;protocol=h2c}.
 * The protocol is {@code auto} unless set (HTTP/2 requests go out as h2c, HTTP/1.1 ones as HTTP/1.1), or
 * {@code http1} or {@code h2c}. Names not listed are reached by DNS on port 80, with {@code auto}.
 *
 * @param protocols the protocol of each listed name that does not use {@code auto}
 */
public record UpstreamTable(Map<String, List<URI>> services, Map<String, UpstreamProtocol> protocols) {
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9]([A-Za-z0-9._-]{0,252}[A-Za-z0-9])?");
  private static final String PROTOCOL = ";protocol=";

  public UpstreamTable {
    services = Map.copyOf(services);
    protocols = Map.copyOf(protocols);
  }

  /** Every service with {@code auto}. */
  public UpstreamTable(Map<String, List<URI>> services) {
    this(services, Map.of());
  }

  /** Reads {@code UPSTREAMS}; problems go to {@code settings}, each naming the variable. */
  public static UpstreamTable from(Settings settings, String variable) {
    Map<String, List<URI>> services = new LinkedHashMap<>();
    Map<String, UpstreamProtocol> protocols = new LinkedHashMap<>();
    for (String entry : settings.list(variable)) {
      int eq = entry.indexOf('=');
      String name = eq < 0 ? entry : entry.substring(0, eq).trim();
      if (eq < 0 || !NAME.matcher(name).matches()) {
        settings.problem(variable, entry, "name=http://host:port[|http://host:port...][;protocol=auto|http1|h2c], comma-separated");
        continue;
      }
      String urlList = entry.substring(eq + 1);
      int option = urlList.indexOf(PROTOCOL);
      if (option >= 0) {
        Optional<UpstreamProtocol> protocol = UpstreamProtocol.parse(urlList.substring(option + PROTOCOL.length()));
        if (protocol.isEmpty()) {
          settings.problem(variable, entry, "protocol auto, http1 or h2c for " + name);
          continue;
        }
        if (protocol.get() != UpstreamProtocol.AUTO) {
          protocols.put(name.toLowerCase(Locale.ROOT), protocol.get());
        }
        urlList = urlList.substring(0, option);
      }
      List<URI> urls = new ArrayList<>();
      for (String url : urlList.split("\\|")) {
        Optional<URI> uri = baseUrl(url.trim());
        if (uri.isEmpty()) {
          settings.problem(variable, entry, "http:// base URLs for " + name + " (https is not supported)");
          urls.clear();
          break;
        }
        urls.add(uri.get());
      }
      if (!urls.isEmpty()) {
        if (services.put(name.toLowerCase(Locale.ROOT), List.copyOf(urls)) != null) {
          settings.problem(variable, entry, "each name once");
        }
      }
    }
    return new UpstreamTable(services, protocols);
  }

  /** How requests go to a listed name: {@code auto} unless {@code UPSTREAMS} said otherwise. */
  public UpstreamProtocol protocol(String name) {
    return protocols.getOrDefault(name.toLowerCase(Locale.ROOT), UpstreamProtocol.AUTO);
  }

  static Optional<URI> baseUrl(String text) {
    try {
      URI uri = new URI(text);
      if (!"http".equalsIgnoreCase(uri.getScheme()) || uri.getHost() == null || uri.getQuery() != null
          || uri.getFragment() != null || uri.getUserInfo() != null) {
        return Optional.empty();
      }
      int port = uri.getPort() < 0 ? 80 : uri.getPort();
      String path = uri.getRawPath() == null || uri.getRawPath().equals("/") ? "" : uri.getRawPath();
      return Optional.of(new URI("http", null, uri.getHost(), port, null, null, null).resolve(path.isEmpty() ? "" : path));
    } catch (URISyntaxException | IllegalArgumentException e) {
      return Optional.empty();
    }
  }

  /** The URLs of a listed name (any case), if listed. */
  public Optional<List<URI>> lookup(String name) {
    return Optional.ofNullable(services.get(name.toLowerCase(Locale.ROOT)));
  }
}
