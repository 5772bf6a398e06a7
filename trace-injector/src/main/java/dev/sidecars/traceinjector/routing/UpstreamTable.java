package dev.sidecars.traceinjector.routing;

import dev.sidecars.runtime.config.Settings;
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
 * {@code UPSTREAMS}: service names mapped to one or more base URLs, e.g. {@code
 * fraud-check=http://10.0.0.5:9001|http://10.0.0.6:9001,ledger=http://ledger:80}. Names not listed are
 * reached by DNS on port 80.
 */
public record UpstreamTable(Map<String, List<URI>> services) {
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9]([A-Za-z0-9._-]{0,252}[A-Za-z0-9])?");

  public UpstreamTable {
    services = Map.copyOf(services);
  }

  /** Reads {@code UPSTREAMS}; problems go to {@code settings}, each naming the variable. */
  public static UpstreamTable from(Settings settings, String variable) {
    Map<String, List<URI>> services = new LinkedHashMap<>();
    for (String entry : settings.list(variable)) {
      int eq = entry.indexOf('=');
      String name = eq < 0 ? entry : entry.substring(0, eq).trim();
      if (eq < 0 || !NAME.matcher(name).matches()) {
        settings.problem(variable, entry, "name=http://host:port[|http://host:port...], comma-separated");
        continue;
      }
      List<URI> urls = new ArrayList<>();
      for (String url : entry.substring(eq + 1).split("\\|")) {
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
    return new UpstreamTable(services);
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
