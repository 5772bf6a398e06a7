package dev.sidecars.testing.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertPathValidator;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateFactory;
import java.security.cert.CertificateNotYetValidException;
import java.security.cert.PKIXParameters;
import java.security.cert.X509Certificate;
import java.util.Collection;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What the JDK itself makes of the test certificates: the helper is only useful if they are real. */
class TestCaTest {
  @TempDir Path dir;

  @Test
  void leafCarriesItsNamesAndValidatesAgainstItsCaWithTheJdk() throws Exception {
    TestCa ca = TestCa.create("root");
    TestCertificate leaf = ca.leaf().uri("spiffe://cluster.local/ns/shop/sa/payment").dns("localhost").ip("127.0.0.1")
        .issue();
    X509Certificate certificate = leaf.certificate();
    assertThat(certificate.getSubjectAlternativeNames()).containsExactlyInAnyOrder(
        List.of(6, "spiffe://cluster.local/ns/shop/sa/payment"), List.of(2, "localhost"), List.of(7, "127.0.0.1"));
    assertThat(certificate.getCriticalExtensionOIDs()).contains("2.5.29.17"); // empty subject: SAN is critical
    validate(ca, leaf.chain());
    assertThatThrownBy(() -> validate(TestCa.create("other"), leaf.chain()))
        .isInstanceOf(CertPathValidatorException.class);
  }

  @Test
  void intermediateIsSentInTheChain() throws Exception {
    TestCa root = TestCa.create("root");
    TestCertificate leaf = root.intermediate("issuing").leaf().commonName("app").issue();
    assertThat(leaf.chain()).hasSize(2);
    validate(root, leaf.chain());
  }

  @Test
  void expiredAndNotYetValid() {
    TestCa ca = TestCa.create("root");
    assertThatThrownBy(() -> ca.leaf().dns("a").expired().issue().certificate().checkValidity())
        .isInstanceOf(CertificateExpiredException.class);
    assertThatThrownBy(() -> ca.leaf().dns("a").notYetValid().issue().certificate().checkValidity())
        .isInstanceOf(CertificateNotYetValidException.class);
  }

  @Test
  @SuppressWarnings("unchecked")
  void filesAreReadableAsPem() throws Exception {
    TestCa ca = TestCa.create("root", TestCa.KeyType.RSA_2048);
    TestCertificate leaf = ca.leaf().commonName("rsa").keyType(TestCa.KeyType.RSA_2048).issue();
    leaf.writeTo(dir.resolve("cert.pem"), dir.resolve("key.pem"));
    Collection<java.security.cert.Certificate> read = (Collection<java.security.cert.Certificate>) CertificateFactory.getInstance("X.509")
        .generateCertificates(Files.newInputStream(dir.resolve("cert.pem")));
    assertThat(read).containsExactly(leaf.certificate());
    assertThat(Files.readString(dir.resolve("key.pem"))).startsWith("-----BEGIN PRIVATE KEY-----\n");
    assertThat(leaf.traditionalPrivateKeyPem()).startsWith("-----BEGIN RSA PRIVATE KEY-----");
    Path bundle = TestCa.writeBundle(dir.resolve("ca.pem"), ca, TestCa.create("second"));
    assertThat(CertificateFactory.getInstance("X.509").generateCertificates(
        new ByteArrayInputStream(Files.readString(bundle).getBytes(StandardCharsets.US_ASCII)))).hasSize(2);
  }

  private static void validate(TestCa trusted, List<X509Certificate> chain) throws Exception {
    KeyStore anchors = KeyStore.getInstance(KeyStore.getDefaultType());
    anchors.load(null, null);
    anchors.setCertificateEntry("ca", trusted.certificate());
    PKIXParameters parameters = new PKIXParameters(anchors);
    parameters.setRevocationEnabled(false);
    CertPathValidator.getInstance("PKIX")
        .validate(CertificateFactory.getInstance("X.509").generateCertPath(chain), parameters);
  }
}
