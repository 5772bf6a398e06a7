package dev.sidecars.runtime.authz;

import dev.sidecars.runtime.config.Settings;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Which peer identities may call which paths with which methods ({@code AUTHZ_POLICY}): a tiny form of
 * Istio's {@code AuthorizationPolicy} (ALLOW rules) or Envoy's RBAC filter. Unset, everything is allowed.
 * Set, a request is allowed only when a rule allows it.
 *
 * <p>Syntax: rules separated by {@code ;} or new lines, {@code #} to the end of a line is a comment. Each
 * rule is {@code <path prefix> [<METHOD>,...] = <identity>,...}:
 *
 * <pre>
 * /payments POST,PUT = spiffe://cluster.local/ns/shop/sa/checkout
 * /catalog GET,HEAD  = *
 * /healthz           = anyone
 * /                  = spiffe://cluster.local/ns/ops/*
 * </pre>
 *
 * <ul>
 *   <li>A path prefix matches whole segments: {@code /admin} covers {@code /admin} and {@code /admin/x},
 *       not {@code /administrator}. {@code /} covers every path. Prefixes are case-sensitive and ASCII
 *       (write other characters percent-encoded).
 *   <li>Methods are optional (any method when left out), upper case, comma-separated.
 *   <li>Identities: exact ({@code spiffe://cluster.local/ns/shop/sa/checkout}, a DNS name or common name),
 *       a prefix ending in {@code *} ({@code spiffe://cluster.local/ns/shop/*}), {@code *} for any peer with
 *       a verified certificate, or {@code anyone} for every caller, including those without a certificate.
 * </ul>
 *
 * <p><b>Longest prefix decides.</b> For a request, the rules with the longest prefix that covers its path
 * are the only ones consulted (whatever their methods): the request is allowed when one of them lists its
 * method (or no methods) and its caller; otherwise it is denied, even if a rule with a shorter prefix would
 * have allowed it. So {@code /admin GET = ops} and {@code / = *} let only {@code ops} GET {@code /admin}, and
 * nobody POST to it. A path no prefix covers is denied. Rule order does not matter.
 *
 * <p>The path compared is the request's path read the way the most lenient application would ({@link
 * RequestPath}), so an encoded or dotted variant of a protected path cannot slip past its rule. Evaluation
 * works on precompiled rules, longest prefix first: no allocation for plain paths, a few string compares.
 *
 * <p>{@code AUTHZ_POLICY=@/path/to/file} reads the rules from a file (at start; a change needs a restart).
 */
public final class AuthorizationPolicy {
  public static final String VARIABLE = "AUTHZ_POLICY";
  /** The metric label for a request without a peer identity. */
  public static final String NO_IDENTITY = "_NONE";
  /** The metric label for an identity the policy does not name. */
  public static final String OTHER_IDENTITY = "_OTHER";
  /** The identity word for every caller, with or without a certificate. */
  public static final String ANYONE = "anyone";

  private static final Pattern METHOD = Pattern.compile("[A-Z][A-Z0-9_-]*");
  private static final AuthorizationPolicy ALLOW_ALL = new AuthorizationPolicy(null, Set.of(), "");

  private final PrefixRules[] byLongestPrefix;
  private final Set<String> identities;
  private final String text;

  private AuthorizationPolicy(PrefixRules[] byLongestPrefix, Set<String> identities, String text) {
    this.byLongestPrefix = byLongestPrefix;
    this.identities = identities;
    this.text = text;
  }

  /** No policy: every request is allowed. */
  public static AuthorizationPolicy allowAll() {
    return ALLOW_ALL;
  }

  /**
   * Reads {@code AUTHZ_POLICY} (the rules, or {@code @file}); problems go to {@code settings}, naming the
   * variable and the bad rule. Unset: {@link #allowAll()}.
   */
  public static AuthorizationPolicy from(Settings settings) {
    String value = settings.optional(VARIABLE).orElse(null);
    if (value == null) {
      return ALLOW_ALL;
    }
    String text = value;
    String where = "rule";
    if (value.startsWith("@")) {
      Path file = Path.of(value.substring(1).trim());
      try {
        text = Files.readString(file);
        where = file + " line";
      } catch (IOException | RuntimeException e) {
        settings.problem(VARIABLE, value, "the rules, or @ and a readable file of them (" + e + ")");
        return ALLOW_ALL;
      }
    }
    try {
      return parse(text, where);
    } catch (PolicySyntaxException e) {
      settings.problem(VARIABLE, e.part(), e.expected());
      return ALLOW_ALL;
    }
  }

  /** Parses the rules; throws {@link IllegalArgumentException} naming the bad part. */
  public static AuthorizationPolicy parse(String text) {
    try {
      return parse(text, "rule");
    } catch (PolicySyntaxException e) {
      throw new IllegalArgumentException("\"" + e.part() + "\": expected " + e.expected(), e);
    }
  }

  private static AuthorizationPolicy parse(String text, String where) throws PolicySyntaxException {
    Map<String, List<Rule>> byPrefix = new LinkedHashMap<>();
    Set<String> named = new LinkedHashSet<>();
    boolean byLine = !where.equals("rule");
    int number = 0;
    int lineNumber = 0;
    for (String line : text.split("\n", -1)) {
      lineNumber++;
      int hash = line.indexOf('#');
      String code = hash < 0 ? line : line.substring(0, hash);
      for (String part : code.split(";", -1)) {
        String rule = part.strip();
        if (rule.isEmpty()) {
          continue;
        }
        number++;
        String at = " (" + where + " " + (byLine ? lineNumber : number) + ")";
        Rule parsed = Rule.parse(rule, at);
        byPrefix.computeIfAbsent(parsed.prefix, p -> new ArrayList<>()).add(parsed);
        named.addAll(parsed.identities.exact);
      }
    }
    if (byPrefix.isEmpty()) {
      throw new PolicySyntaxException(text.strip(), "at least one rule, <path prefix> [METHODS] = <identities>; "
          + "leave " + VARIABLE + " unset to allow everything");
    }
    PrefixRules[] ordered = byPrefix.entrySet().stream()
        .map(e -> new PrefixRules(e.getKey(), e.getValue().toArray(Rule[]::new)))
        .sorted(Comparator.comparingInt((PrefixRules r) -> r.prefix.length()).reversed())
        .toArray(PrefixRules[]::new);
    return new AuthorizationPolicy(ordered, Set.copyOf(named), text.strip());
  }

  /** Whether there are no rules: every request is allowed. */
  public boolean allowsEverything() {
    return byLongestPrefix == null;
  }

  /**
   * Whether a request may go on.
   *
   * @param method the request method, as sent
   * @param path the request target as sent (query and fragment ignored)
   * @param identity the verified peer identity, or null when the peer sent no certificate
   */
  public boolean allows(String method, String path, String identity) {
    if (byLongestPrefix == null) {
      return true;
    }
    String canonical = RequestPath.canonical(path);
    if (canonical == null) {
      return false;
    }
    for (PrefixRules rules : byLongestPrefix) {
      if (rules.covers(canonical)) {
        return rules.allow(method, identity);
      }
    }
    return false;
  }

  /** Every identity the policy names exactly: the values a metric label may take besides the two below. */
  public Set<String> identities() {
    return identities;
  }

  /**
   * A bounded metric label for {@code identity}: itself when the policy names it, {@link #NO_IDENTITY} when
   * absent, {@link #OTHER_IDENTITY} otherwise, so labels never grow with the callers.
   */
  public String label(String identity) {
    if (identity == null) {
      return NO_IDENTITY;
    }
    return identities.contains(identity) ? identity : OTHER_IDENTITY;
  }

  @Override
  public String toString() {
    return byLongestPrefix == null ? "allow all" : text;
  }

  /** All rules of one prefix. */
  private static final class PrefixRules {
    final String prefix;
    final String prefixSlash;
    final Rule[] rules;

    PrefixRules(String prefix, Rule[] rules) {
      this.prefix = prefix;
      this.prefixSlash = prefix.equals("/") ? "/" : prefix + "/";
      this.rules = rules;
    }

    boolean covers(String path) {
      return path.startsWith(prefixSlash) || path.equals(prefix);
    }

    boolean allow(String method, String identity) {
      for (Rule rule : rules) {
        if (rule.allows(method, identity)) {
          return true;
        }
      }
      return false;
    }
  }

  private static final class Rule {
    final String prefix;
    final Set<String> methods; // null: any
    final Identities identities;

    Rule(String prefix, Set<String> methods, Identities identities) {
      this.prefix = prefix;
      this.methods = methods;
      this.identities = identities;
    }

    boolean allows(String method, String identity) {
      return (methods == null || methods.contains(method)) && identities.match(identity);
    }

    static Rule parse(String rule, String at) throws PolicySyntaxException {
      String expected = "<path prefix> [METHODS] = <identities>";
      int equals = rule.indexOf('=');
      if (equals < 0) {
        throw new PolicySyntaxException(rule, expected + at + "; there is no =");
      }
      String[] target = rule.substring(0, equals).trim().split("\\s+");
      if (target.length == 0 || target[0].isEmpty()) {
        throw new PolicySyntaxException(rule, expected + at + "; the path prefix is missing");
      }
      if (target.length > 2) {
        throw new PolicySyntaxException(rule, expected + at + "; \"" + target[2]
            + "\" is one word too many (methods are comma-separated, without spaces)");
      }
      String prefix = prefix(target[0], rule, at);
      Set<String> methods = null;
      if (target.length == 2) {
        methods = new LinkedHashSet<>();
        for (String method : target[1].split(",", -1)) {
          if (!METHOD.matcher(method).matches()) {
            throw new PolicySyntaxException(rule, "HTTP methods in upper case, comma-separated, such as GET,HEAD"
                + at + "; \"" + method + "\" is not one");
          }
          methods.add(method);
        }
        methods = Set.copyOf(methods);
      }
      return new Rule(prefix, methods, Identities.parse(rule.substring(equals + 1), rule, at));
    }

    private static String prefix(String word, String rule, String at) throws PolicySyntaxException {
      if (!word.startsWith("/")) {
        throw new PolicySyntaxException(rule, "a path prefix starting with /" + at + "; \"" + word + "\" does not");
      }
      for (int i = 0; i < word.length(); i++) {
        char c = word.charAt(i);
        if (c > 0x7e || c < 0x21 || c == '?' || c == '#' || c == '*') {
          throw new PolicySyntaxException(rule, "a path prefix of printable ASCII without ? # or *" + at
              + " (a prefix covers everything below it already; write other characters percent-encoded)");
        }
      }
      String canonical = RequestPath.canonical(word);
      if (canonical == null) {
        throw new PolicySyntaxException(rule, "a readable path prefix" + at + "; \"" + word
            + "\" has a bad %-escape or climbs above / with ..");
      }
      return canonical;
    }
  }

  /** Who a rule allows, compiled: a flag, an exact set, and prefixes. */
  private static final class Identities {
    final boolean anyone;
    final Set<String> exact;
    final String[] prefixes;

    Identities(boolean anyone, Set<String> exact, String[] prefixes) {
      this.anyone = anyone;
      this.exact = exact;
      this.prefixes = prefixes;
    }

    boolean match(String identity) {
      if (anyone) {
        return true;
      }
      if (identity == null) {
        return false;
      }
      if (exact.contains(identity)) {
        return true;
      }
      for (String prefix : prefixes) {
        if (identity.startsWith(prefix)) {
          return true;
        }
      }
      return false;
    }

    static Identities parse(String list, String rule, String at) throws PolicySyntaxException {
      boolean anyone = false;
      Set<String> exact = new LinkedHashSet<>();
      List<String> prefixes = new ArrayList<>();
      for (String word : list.split(",", -1)) {
        String identity = word.trim();
        if (identity.isEmpty()) {
          throw new PolicySyntaxException(rule, "identities after =, comma-separated (an identity, a prefix ending "
              + "in *, * for any verified peer, or " + ANYONE + ")" + at + "; one is empty");
        }
        if (identity.chars().anyMatch(Character::isWhitespace)) {
          throw new PolicySyntaxException(rule, "identities without spaces, comma-separated" + at + "; \""
              + identity + "\" has a space (a missing comma?)");
        }
        int star = identity.indexOf('*');
        if (identity.equals(ANYONE)) {
          anyone = true;
        } else if (star >= 0) {
          if (star != identity.length() - 1) {
            throw new PolicySyntaxException(rule, "* only at the end of an identity (a prefix)" + at + "; \""
                + identity + "\" has it elsewhere");
          }
          prefixes.add(identity.substring(0, star));
        } else {
          exact.add(identity);
        }
      }
      return new Identities(anyone, Set.copyOf(exact), prefixes.toArray(String[]::new));
    }
  }

  /** A bad part of the policy and what was expected there. */
  private static final class PolicySyntaxException extends Exception {
    private static final long serialVersionUID = 1L;
    private final String part;
    private final String expected;

    PolicySyntaxException(String part, String expected) {
      super(expected);
      this.part = part;
      this.expected = expected;
    }

    String part() {
      return part;
    }

    String expected() {
      return expected;
    }
  }
}
