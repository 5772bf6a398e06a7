package dev.sidecars.testing.tls;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.net.Socket;
import java.security.Principal;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedKeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A certificate authority made inside a test: a self-signed root (or an intermediate under another
 * {@code TestCa}) that issues workload certificates with URI, DNS and IP SANs, and the bad ones tests need
 * (expired, not yet valid, wrong name; an untrusted one comes from a second CA). Keys are EC P-256 unless
 * asked for RSA. Each certificate is valid from a day ago for 90 days unless told otherwise.
 *
 * <pre>{@code
 * TestCa ca = TestCa.create("test-ca");
 * TestCertificate payment = ca.leaf().uri("spiffe://cluster.local/ns/shop/sa/payment").dns("localhost").issue();
 * payment.writeTo(dir.resolve("cert.pem"), dir.resolve("key.pem"));
 * ca.writeCertificate(dir.resolve("ca.pem"));
 * }</pre>
 */
public final class TestCa {
  private static final SecureRandom RANDOM = new SecureRandom();

  /** The algorithm of a generated key pair. */
  public enum KeyType {
    EC_P256,
    RSA_2048
  }

  private final X509Certificate certificate;
  private final PrivateKey key;
  private final List<X509Certificate> chainAbove;

  private TestCa(X509Certificate certificate, PrivateKey key, List<X509Certificate> chainAbove) {
    this.certificate = certificate;
    this.key = key;
    this.chainAbove = chainAbove;
  }

  /** A self-signed root CA with an EC P-256 key. */
  public static TestCa create(String name) {
    return create(name, KeyType.EC_P256);
  }

  /** A self-signed root CA with a key of {@code type}. */
  public static TestCa create(String name, KeyType type) {
    KeyPair pair = keyPair(type);
    Instant now = Instant.now();
    X500Name subject = new X500Name("CN=" + name);
    X509Certificate certificate = sign(
        new JcaX509v3CertificateBuilder(subject, serial(), Date.from(now.minus(Duration.ofDays(1))),
            Date.from(now.plus(Duration.ofDays(3650))), subject, pair.getPublic()),
        pair, null, pair.getPrivate(), true);
    return new TestCa(certificate, pair.getPrivate(), List.of());
  }

  /** An intermediate CA signed by this one; its leaves' chains carry it. */
  public TestCa intermediate(String name) {
    KeyPair pair = keyPair(KeyType.EC_P256);
    Instant now = Instant.now();
    X509Certificate issued = sign(
        new JcaX509v3CertificateBuilder(certificate, serial(), Date.from(now.minus(Duration.ofDays(1))),
            Date.from(now.plus(Duration.ofDays(365))), new X500Name("CN=" + name), pair.getPublic()),
        pair, certificate, key, true);
    List<X509Certificate> above = new ArrayList<>();
    above.add(certificate);
    above.addAll(chainAbove);
    return new TestCa(issued, pair.getPrivate(), List.copyOf(above));
  }

  /** This CA's own certificate. */
  public X509Certificate certificate() {
    return certificate;
  }

  /** This CA's certificate in PEM. */
  public String certificatePem() {
    return Pem.certificates(List.of(certificate));
  }

  /** Writes this CA's certificate as PEM (a trust bundle of one); returns {@code file}. */
  public Path writeCertificate(Path file) {
    return Pem.write(file, certificatePem());
  }

  /** Writes a trust bundle holding the certificates of every CA given, in order; returns {@code file}. */
  public static Path writeBundle(Path file, TestCa... cas) {
    List<X509Certificate> certificates = new ArrayList<>();
    for (TestCa ca : cas) {
      certificates.add(ca.certificate);
    }
    return Pem.write(file, Pem.certificates(certificates));
  }

  /**
   * A JDK {@link SSLContext} that trusts only this CA and presents {@code own} whenever a server asks for a
   * client certificate ({@code null}: none), for real clients such as the JDK's HttpClient. Like openssl or
   * curl, it sends {@code own} even when the server's list of acceptable CAs does not include its issuer
   * (the JDK's own key manager would then send nothing), so tests reach the server's verification.
   */
  public SSLContext sslContext(TestCertificate own) {
    try {
      KeyStore trust = KeyStore.getInstance("PKCS12");
      trust.load(null, null);
      trust.setCertificateEntry("ca", certificate);
      TrustManagerFactory trustManagers = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      trustManagers.init(trust);
      KeyManagerFactory keyManagers = null;
      if (own != null) {
        char[] password = "test".toCharArray();
        KeyStore keys = KeyStore.getInstance("PKCS12");
        keys.load(null, null);
        keys.setKeyEntry("own", own.privateKey(), password, own.chain().toArray(X509Certificate[]::new));
        keyManagers = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        keyManagers.init(keys, password);
      }
      SSLContext context = SSLContext.getInstance("TLS");
      KeyManager[] keys = keyManagers == null ? null
          : new KeyManager[] {new AlwaysPresent((X509ExtendedKeyManager) keyManagers.getKeyManagers()[0])};
      context.init(keys, trustManagers.getTrustManagers(), RANDOM);
      return context;
    } catch (GeneralSecurityException | IOException e) {
      throw new IllegalStateException("cannot build an SSL context", e);
    }
  }

  /** Chooses the one key it holds, whatever issuers or key types the peer says it accepts. */
  private static final class AlwaysPresent extends X509ExtendedKeyManager {
    private final X509ExtendedKeyManager keys;

    AlwaysPresent(X509ExtendedKeyManager keys) {
      this.keys = keys;
    }

    @Override
    public String chooseEngineClientAlias(String[] keyType, Principal[] issuers, SSLEngine engine) {
      return "own";
    }

    @Override
    public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
      return "own";
    }

    @Override
    public String[] getClientAliases(String keyType, Principal[] issuers) {
      return new String[] {"own"};
    }

    @Override
    public String[] getServerAliases(String keyType, Principal[] issuers) {
      return keys.getServerAliases(keyType, issuers);
    }

    @Override
    public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
      return keys.chooseServerAlias(keyType, issuers, socket);
    }

    @Override
    public X509Certificate[] getCertificateChain(String alias) {
      return keys.getCertificateChain(alias);
    }

    @Override
    public PrivateKey getPrivateKey(String alias) {
      return keys.getPrivateKey(alias);
    }
  }

  /** Starts a workload (leaf) certificate issued by this CA. */
  public LeafBuilder leaf() {
    return new LeafBuilder();
  }

  /** What a leaf certificate says; call {@link #issue()} last. */
  public final class LeafBuilder {
    private final X500NameBuilder subject = new X500NameBuilder(BCStyle.INSTANCE);
    private final List<GeneralName> names = new ArrayList<>();
    private boolean hasSubject;
    private KeyType keyType = KeyType.EC_P256;
    private Instant notBefore = Instant.now().minus(Duration.ofDays(1));
    private Instant notAfter = Instant.now().plus(Duration.ofDays(90));

    private LeafBuilder() {}

    /** A URI SAN, e.g. a SPIFFE ID {@code spiffe://cluster.local/ns/shop/sa/payment}. */
    public LeafBuilder uri(String uri) {
      names.add(new GeneralName(GeneralName.uniformResourceIdentifier, uri));
      return this;
    }

    /** A DNS SAN. */
    public LeafBuilder dns(String name) {
      names.add(new GeneralName(GeneralName.dNSName, name));
      return this;
    }

    /** An IP address SAN, e.g. {@code 127.0.0.1}. */
    public LeafBuilder ip(String address) {
      names.add(new GeneralName(GeneralName.iPAddress, address));
      return this;
    }

    /** The subject's common name (none by default: SPIFFE certificates often have an empty subject). */
    public LeafBuilder commonName(String cn) {
      subject.addRDN(BCStyle.CN, cn);
      hasSubject = true;
      return this;
    }

    /** The subject's organization. */
    public LeafBuilder organization(String o) {
      subject.addRDN(BCStyle.O, o);
      hasSubject = true;
      return this;
    }

    public LeafBuilder keyType(KeyType type) {
      this.keyType = type;
      return this;
    }

    public LeafBuilder validity(Instant from, Instant until) {
      this.notBefore = from;
      this.notAfter = until;
      return this;
    }

    /** Valid until {@code until} (from a day before now, or from {@code until - 1 day} if that is earlier). */
    public LeafBuilder validUntil(Instant until) {
      Instant dayBefore = until.minus(Duration.ofDays(1));
      return validity(dayBefore.isBefore(notBefore) ? dayBefore : notBefore, until);
    }

    /** Expired yesterday. */
    public LeafBuilder expired() {
      Instant now = Instant.now();
      return validity(now.minus(Duration.ofDays(30)), now.minus(Duration.ofDays(1)));
    }

    /** Valid only from tomorrow. */
    public LeafBuilder notYetValid() {
      Instant now = Instant.now();
      return validity(now.plus(Duration.ofDays(1)), now.plus(Duration.ofDays(30)));
    }

    /** Signs the certificate; usable for TLS servers and clients alike. */
    public TestCertificate issue() {
      KeyPair pair = keyPair(keyType);
      X500Name name = hasSubject ? subject.build() : new X500Name(new org.bouncycastle.asn1.x500.RDN[0]);
      X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(
          certificate, serial(), Date.from(notBefore), Date.from(notAfter), name, pair.getPublic());
      try {
        if (!names.isEmpty()) {
          // RFC 5280 4.2.1.6: with an empty subject, the SAN extension is critical.
          builder.addExtension(Extension.subjectAlternativeName, !hasSubject,
              new GeneralNames(names.toArray(GeneralName[]::new)));
        }
        builder.addExtension(Extension.extendedKeyUsage, false,
            new ExtendedKeyUsage(new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}));
      } catch (IOException e) {
        throw new IllegalStateException(e);
      }
      X509Certificate leaf = sign(builder, pair, certificate, key, false);
      List<X509Certificate> chain = new ArrayList<>();
      chain.add(leaf);
      if (!chainAbove.isEmpty()) {
        chain.add(certificate); // an intermediate sends itself; the root stays in the trust bundle
        chain.addAll(chainAbove.subList(0, chainAbove.size() - 1));
      }
      return new TestCertificate(List.copyOf(chain), pair.getPrivate());
    }
  }

  private static X509Certificate sign(X509v3CertificateBuilder builder, KeyPair subject, X509Certificate issuer,
      PrivateKey issuerKey, boolean ca) {
    try {
      JcaX509ExtensionUtils utils = new JcaX509ExtensionUtils();
      builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(ca));
      builder.addExtension(Extension.keyUsage, true, new KeyUsage(ca
          ? KeyUsage.keyCertSign | KeyUsage.cRLSign
          : KeyUsage.digitalSignature | KeyUsage.keyEncipherment));
      builder.addExtension(Extension.subjectKeyIdentifier, false, utils.createSubjectKeyIdentifier(subject.getPublic()));
      builder.addExtension(Extension.authorityKeyIdentifier, false, issuer == null
          ? utils.createAuthorityKeyIdentifier(subject.getPublic())
          : utils.createAuthorityKeyIdentifier(issuer));
      String algorithm = issuerKey.getAlgorithm().equals("RSA") ? "SHA256withRSA" : "SHA256withECDSA";
      ContentSigner signer = new JcaContentSignerBuilder(algorithm).build(issuerKey);
      return new JcaX509CertificateConverter().getCertificate(builder.build(signer));
    } catch (IOException | GeneralSecurityException | OperatorCreationException e) {
      throw new IllegalStateException("cannot sign a test certificate", e);
    }
  }

  static KeyPair keyPair(KeyType type) {
    try {
      if (type == KeyType.RSA_2048) {
        KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
        generator.initialize(2048, RANDOM);
        return generator.generateKeyPair();
      }
      KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
      generator.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
      return generator.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  private static BigInteger serial() {
    return new BigInteger(64, RANDOM).add(BigInteger.ONE);
  }

  static Path writeString(Path file, String text) {
    try {
      return Files.writeString(file, text);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }
}
