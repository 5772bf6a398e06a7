package dev.sidecars.runtime.ratelimit;

import dev.sidecars.runtime.config.Settings;
import dev.sidecars.runtime.http.RouteTemplates;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.LongSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Token-bucket limits per route template, and optionally per peer identity ({@code RATE_LIMITS}), checked
 * by the ingress proxy before a request reaches the application.
 *
 * <p>Syntax: limits separated by {@code ;}, each {@code <route>=<count>/<s|m|h> [burst <n>] [per identity]}:
 *
 * <pre>
 * /payments/{id}=100/s burst 200 per identity; /search=20/s; *=1000/s
 * </pre>
 *
 * <ul>
 *   <li>{@code <route>} is one of the route templates of {@code ROUTES}, exactly as written there, or
 *       {@code *}: one bucket for every request whose route has no limit of its own (unmatched paths too).
 *   <li>{@code <count>/<unit>} is the sustained rate; {@code burst} how many may come at once after a quiet
 *       spell (default: the count). So {@code 100/s} admits 100 at once, then one every 10 ms.
 *   <li>{@code per identity} gives each peer identity its own bucket; requests without a client certificate
 *       share one. Without it, all callers of the route share one bucket. A route may have one shared and
 *       one per-identity limit; a request must pass both.
 * </ul>
 *
 * <p>Memory stays bounded however many identities arrive: each per-identity limit keeps at most {@code
 * maxIdentities} buckets ({@value #DEFAULT_MAX_IDENTITIES} by default) and identities beyond that share one
 * overflow bucket; see {@link IdentityBuckets} for why this cannot be gamed. A check is a map lookup and one
 * or two compare-and-sets; the clock is injected.
 */
public final class RateLimits {
  public static final String VARIABLE = "RATE_LIMITS";
  /** Buckets each per-identity limit keeps at most. */
  public static final int DEFAULT_MAX_IDENTITIES = 1024;
  /** The route word for every request whose route has no limit of its own. */
  public static final String EVERY_OTHER_ROUTE = "*";

  private static final Pattern LIMIT = Pattern.compile(
      "(\\d{1,9})\\s*/\\s*(s|m|h)(?:\\s+burst\\s+(\\d{1,9}))?(\\s+per\\s+identity)?", Pattern.CASE_INSENSITIVE);
  private static final RateLimits NONE = new RateLimits(Map.of(), null, System::nanoTime);

  private final Map<String, RouteLimits> byRoute;
  private final RouteLimits otherRoutes;
  private final LongSupplier nanoTime;

  private RateLimits(Map<String, RouteLimits> byRoute, RouteLimits otherRoutes, LongSupplier nanoTime) {
    this.byRoute = byRoute;
    this.otherRoutes = otherRoutes;
    this.nanoTime = nanoTime;
  }

  /** No limits. */
  public static RateLimits none() {
    return NONE;
  }

  /**
   * Reads {@code RATE_LIMITS}, checking each route against {@code routes} ({@code ROUTES}); problems go to
   * {@code settings}, naming the variable and the bad limit. Unset: {@link #none()}.
   */
  public static RateLimits from(Settings settings, RouteTemplates routes, LongSupplier nanoTime) {
    String value = settings.optional(VARIABLE).orElse(null);
    if (value == null) {
      return NONE;
    }
    try {
      return parse(value, routes, nanoTime, DEFAULT_MAX_IDENTITIES);
    } catch (SyntaxException e) {
      settings.problem(VARIABLE, e.part, e.expected);
      return NONE;
    }
  }

  /** Parses the limits; throws {@link IllegalArgumentException} naming the bad limit and what was expected. */
  static RateLimits parse(String text, RouteTemplates routes, LongSupplier nanoTime, int maxIdentities) {
    long now = nanoTime.getAsLong();
    Map<String, RouteLimits> byRoute = new LinkedHashMap<>();
    int number = 0;
    for (String part : text.split(";", -1)) {
      String limit = part.strip();
      if (limit.isEmpty()) {
        continue;
      }
      number++;
      String at = " (limit " + number + ")";
      int equals = limit.lastIndexOf('=');
      if (equals < 0) {
        throw bad(limit, "<route>=<count>/<s|m|h> [burst <n>] [per identity]" + at + "; there is no =");
      }
      String route = limit.substring(0, equals).strip();
      if (!route.equals(EVERY_OTHER_ROUTE) && !routes.templates().contains(route)) {
        throw bad(limit, "a route template of ROUTES, exactly as written there, or * for every other route" + at
            + "; \"" + route + "\" is not one of " + routes.templates());
      }
      Matcher m = LIMIT.matcher(limit.substring(equals + 1).strip());
      if (!m.matches()) {
        throw bad(limit, "<count>/<s|m|h> [burst <n>] [per identity] after =, such as 100/s burst 200 per identity"
            + at);
      }
      long count = Long.parseLong(m.group(1));
      long burst = m.group(3) == null ? count : Long.parseLong(m.group(3));
      if (count < 1 || burst < 1) {
        throw bad(limit, "a count and burst of at least 1" + at + " (to refuse a route, use AUTHZ_POLICY)");
      }
      long period = switch (m.group(2).toLowerCase(Locale.ROOT)) {
        case "m" -> 60_000_000_000L;
        case "h" -> 3_600_000_000_000L;
        default -> 1_000_000_000L;
      };
      // Rounded down: a rate that does not divide the period is at most 1 ns per token generous.
      long interval = Math.max(1, period / count);
      boolean perIdentity = m.group(4) != null;
      RouteLimits existing = byRoute.get(route);
      RouteLimits merged = existing == null ? new RouteLimits(null, null, null, null) : existing;
      if (perIdentity ? merged.perIdentity != null : merged.shared != null) {
        throw bad(limit, "one " + (perIdentity ? "per-identity" : "shared") + " limit per route" + at + "; " + route
            + " has one already");
      }
      byRoute.put(route, perIdentity
          ? new RouteLimits(merged.shared, merged.sharedText, new IdentityBuckets(interval, burst, maxIdentities, now), limit)
          : new RouteLimits(new TokenBucket(interval, burst, now), limit, merged.perIdentity, merged.perIdentityText));
    }
    if (byRoute.isEmpty()) {
      throw bad(text.strip(), "at least one limit, <route>=<count>/<s|m|h>; leave " + VARIABLE + " unset for none");
    }
    RouteLimits other = byRoute.remove(EVERY_OTHER_ROUTE);
    return new RateLimits(new HashMap<>(byRoute), other, nanoTime);
  }

  private static SyntaxException bad(String part, String expected) {
    return new SyntaxException(part, expected);
  }

  /** A bad limit and what was expected instead. */
  static final class SyntaxException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;
    final String part;
    final String expected;

    SyntaxException(String part, String expected) {
      super("\"" + part + "\": expected " + expected);
      this.part = part;
      this.expected = expected;
    }
  }

  /** Whether any limit is set. */
  public boolean isEmpty() {
    return byRoute.isEmpty() && otherRoutes == null;
  }

  /**
   * Takes a token for one request, or says how long to wait.
   *
   * @param route the request's route template as {@link RouteTemplates#label} gives it
   * @param identity the verified peer identity, or null without a client certificate
   */
  public RateLimitDecision check(String route, String identity) {
    RouteLimits limits = byRoute.get(route);
    if (limits == null) {
      limits = otherRoutes;
      if (limits == null) {
        return RateLimitDecision.ALLOWED;
      }
    }
    long now = nanoTime.getAsLong();
    if (limits.shared != null) {
      long wait = limits.shared.tryTake(now);
      if (wait != TokenBucket.TAKEN) {
        return RateLimitDecision.limited(limits.sharedText, wait);
      }
    }
    if (limits.perIdentity != null) {
      long wait = limits.perIdentity.tryTake(identity, now);
      if (wait != TokenBucket.TAKEN) {
        if (limits.shared != null) {
          limits.shared.refund(); // the request does not go: it must not spend the route's shared budget
        }
        return RateLimitDecision.limited(limits.perIdentityText, wait);
      }
    }
    return RateLimitDecision.ALLOWED;
  }

  /** The routes that have a limit of their own ({@code *} not included). */
  public List<String> routes() {
    return List.copyOf(byRoute.keySet());
  }

  /** The per-identity buckets of {@code route}; null when it has none. */
  IdentityBuckets perIdentity(String route) {
    RouteLimits limits = byRoute.get(route);
    return limits == null ? null : limits.perIdentity;
  }

  private record RouteLimits(TokenBucket shared, String sharedText, IdentityBuckets perIdentity, String perIdentityText) {}
}
