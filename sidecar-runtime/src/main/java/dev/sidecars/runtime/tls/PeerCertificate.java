package dev.sidecars.runtime.tls;

import java.security.cert.CertificateEncodingException;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;
import javax.security.auth.x500.X500Principal;

/**
 * Who a verified certificate names, in the order service meshes read it: the identity is the first URI
 * SAN (a SPIFFE ID such as {@code spiffe://cluster.local/ns/shop/sa/payment}), else the first DNS SAN,
 * else the subject's common name, else the whole subject.
 *
 * @param identity the workload identity, as authorization policies and metric labels use it
 * @param uris every URI SAN, in certificate order
 * @param dnsNames every DNS SAN, in certificate order
 * @param subject the subject in RFC 2253 form ({@code CN=app,O=shop}), empty when the subject is empty
 * @param sha256 lower-case hex SHA-256 of the certificate's DER encoding
 */
public record PeerCertificate(String identity, List<String> uris, List<String> dnsNames, String subject, String sha256) {
  private static final int SAN_DNS = 2;
  private static final int SAN_URI = 6;

  public PeerCertificate {
    uris = List.copyOf(uris);
    dnsNames = List.copyOf(dnsNames);
  }

  /** Reads the names of {@code certificate}; it is the caller's to have verified it. */
  public static PeerCertificate of(X509Certificate certificate) {
    List<String> uris = new ArrayList<>();
    List<String> dns = new ArrayList<>();
    try {
      Collection<List<?>> names = certificate.getSubjectAlternativeNames();
      if (names != null) {
        for (List<?> name : names) {
          int type = (Integer) name.get(0);
          if (type == SAN_URI) {
            uris.add((String) name.get(1));
          } else if (type == SAN_DNS) {
            dns.add((String) name.get(1));
          }
        }
      }
    } catch (CertificateParsingException e) {
      // A SAN extension the JDK cannot parse: the certificate is judged by its subject alone.
    }
    X500Principal principal = certificate.getSubjectX500Principal();
    String subject = principal.getName(X500Principal.RFC2253);
    String identity = !uris.isEmpty() ? uris.get(0)
        : !dns.isEmpty() ? dns.get(0)
        : commonName(subject).orElse(subject);
    return new PeerCertificate(identity, uris, dns, subject, sha256(certificate));
  }

  /** Whether {@code name} is this certificate's identity or one of its URI or DNS SANs. */
  public boolean names(String name) {
    return identity.equals(name) || uris.contains(name) || dnsNames.contains(name);
  }

  private static Optional<String> commonName(String subject) {
    try {
      List<Rdn> rdns = new LdapName(subject).getRdns();
      // LdapName lists RDNs most significant first, the reverse of RFC 2253 text: the most specific CN is last.
      for (int i = rdns.size() - 1; i >= 0; i--) {
        if (rdns.get(i).getType().equalsIgnoreCase("CN")) {
          return Optional.of(String.valueOf(rdns.get(i).getValue()));
        }
      }
    } catch (InvalidNameException e) {
      // The JDK wrote this name itself; unreadable means no CN to take.
    }
    return Optional.empty();
  }

  private static String sha256(X509Certificate certificate) {
    try {
      return HexFormat.of().formatHex(FileBytes.sha256().digest(certificate.getEncoded()));
    } catch (CertificateEncodingException e) {
      throw new IllegalStateException("a parsed certificate has an encoding", e);
    }
  }
}
