package dev.sidecars.runtime.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sidecars.runtime.config.ConfigException;
import dev.sidecars.runtime.config.Settings;
import dev.sidecars.testing.tls.TestCa;
import dev.sidecars.testing.tls.TestCertificate;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The TLS variables as a user meets them at start: each bad file or missing variable is one line naming the
 * variable (the sidecar prints it and exits 2), and good files of every accepted kind load.
 */
class TlsFilesConfigTest {
  private static final TestCa CA = TestCa.create("test-ca");
  private static final TestCa OTHER_CA = TestCa.create("other-ca");

  @TempDir Path dir;

  private Path cert;
  private Path key;
  private Path ca;

  private void write(TestCertificate certificate) {
    cert = dir.resolve("tls.crt");
    key = dir.resolve("tls.key");
    certificate.writeTo(cert, key);
    ca = TestCa.writeBundle(dir.resolve("ca.crt"), CA, OTHER_CA);
  }

  private static List<String> problems(Map<String, String> env, java.util.function.Consumer<Settings> read) {
    Settings settings = Settings.of(env);
    read.accept(settings);
    try {
      settings.validate();
      return List.of();
    } catch (ConfigException e) {
      return e.problems();
    }
  }

  private Map<String, String> env(String mode) {
    Map<String, String> env = new HashMap<>();
    env.put("TLS_MODE", mode);
    env.put("TLS_CERT_FILE", cert.toString());
    env.put("TLS_KEY_FILE", key.toString());
    env.put("TLS_CA_FILE", ca.toString());
    return env;
  }

  @Test
  void loadsEcAndRsaPkcs8KeysAChainWithItsIntermediateAndABundleOfSeveralCas() throws Exception {
    for (TestCa.KeyType type : TestCa.KeyType.values()) {
      write(CA.intermediate("issuing").leaf().uri("spiffe://cluster.local/ns/shop/sa/payment").keyType(type).issue());
      ServerTlsConfig config = ServerTlsConfig.from(Settings.of(env("mtls")));
      assertThat(config.mode()).isEqualTo(ServerTlsConfig.Mode.MTLS);
      TlsMaterial material = TlsMaterial.load(config.files().orElseThrow(), FileBytes.read(config.files().orElseThrow()));
      assertThat(material.chain()).hasSize(2);
      assertThat(material.trustAnchors()).hasSize(2);
      assertThat(material.certificate().orElseThrow().identity()).isEqualTo("spiffe://cluster.local/ns/shop/sa/payment");
      assertThat(material.privateKey().getAlgorithm()).isEqualTo(type == TestCa.KeyType.RSA_2048 ? "RSA" : "EC");
    }
  }

  @Test
  void offNeedsNothingAndReadsNoFile() {
    assertThat(problems(Map.of(), s -> assertThat(ServerTlsConfig.from(s).mode()).isEqualTo(ServerTlsConfig.Mode.OFF)))
        .isEmpty();
    assertThat(problems(Map.of("TLS_MODE", "off", "TLS_CERT_FILE", "/no/such/file"), ServerTlsConfig::from)).isEmpty();
  }

  @Test
  void eachModeNamesTheVariableItMisses() {
    assertThat(problems(Map.of("TLS_MODE", "tls"), ServerTlsConfig::from)).containsExactly(
        "TLS_CERT_FILE=\"\": expected a PEM certificate chain file (TLS_MODE=tls needs one)",
        "TLS_KEY_FILE=\"\": expected a PEM private key file (TLS_MODE=tls needs one)");
    write(CA.leaf().dns("localhost").issue());
    Map<String, String> env = env("mtls");
    env.remove("TLS_CA_FILE");
    assertThat(problems(env, ServerTlsConfig::from)).containsExactly(
        "TLS_CA_FILE=\"\": expected a PEM file of CA certificates (TLS_MODE=mtls needs one)");
    assertThat(problems(Map.of("TLS_MODE", "strict"), ServerTlsConfig::from)).containsExactly(
        "TLS_MODE=\"strict\": expected one of off, tls, mtls, permissive");
    assertThat(problems(Map.of("UPSTREAM_TLS", "mtls"), UpstreamTlsConfig::from)).hasSize(3)
        .allMatch(line -> line.contains("UPSTREAM_TLS=mtls needs"));
    assertThat(problems(Map.of("UPSTREAM_TLS", "tls"), s -> assertThat(UpstreamTlsConfig.from(s).files()).isEmpty()))
        .isEmpty(); // the JDK's trust store then
  }

  @Test
  void aTraditionalOpenSslKeyIsRefusedWithTheCommandThatConvertsIt() throws Exception {
    TestCertificate leaf = CA.leaf().dns("localhost").keyType(TestCa.KeyType.RSA_2048).issue();
    write(leaf);
    Files.writeString(key, leaf.traditionalPrivateKeyPem());
    assertThat(problems(env("tls"), ServerTlsConfig::from)).singleElement().asString()
        .startsWith("TLS_KEY_FILE=\"" + key + "\": expected an unencrypted PKCS#8 RSA or EC private key")
        .contains("RSA PRIVATE KEY").contains("openssl pkcs8 -topk8 -nocrypt");
  }

  @Test
  void badFilesAreNamedByTheirVariable() throws Exception {
    write(CA.leaf().dns("localhost").issue());
    Map<String, String> env = env("tls");

    env.put("TLS_CERT_FILE", dir.resolve("missing.crt").toString());
    assertThat(problems(env, ServerTlsConfig::from)).singleElement().asString()
        .startsWith("TLS_CERT_FILE=\"" + dir.resolve("missing.crt") + "\": expected a readable file");

    Files.writeString(dir.resolve("garbage.crt"), "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
    env.put("TLS_CERT_FILE", dir.resolve("garbage.crt").toString());
    assertThat(problems(env, ServerTlsConfig::from)).singleElement().asString()
        .startsWith("TLS_CERT_FILE=\"" + dir.resolve("garbage.crt") + "\": expected PEM certificates (block 1 is not");

    env.put("TLS_CERT_FILE", key.toString()); // a key where the chain should be
    assertThat(problems(env, ServerTlsConfig::from)).singleElement().asString()
        .endsWith("expected at least one PEM certificate (-----BEGIN CERTIFICATE-----)");

    env.put("TLS_CERT_FILE", cert.toString());
    Files.writeString(dir.resolve("enc.key"), "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n");
    env.put("TLS_KEY_FILE", dir.resolve("enc.key").toString());
    assertThat(problems(env, ServerTlsConfig::from)).singleElement().asString().contains("this key is encrypted");

    env.put("TLS_KEY_FILE", key.toString());
    env.put("TLS_CA_FILE", cert.toString() + ".nope");
    assertThat(problems(env, ServerTlsConfig::from)).singleElement().asString().startsWith("TLS_CA_FILE=");
  }

  @Test
  void aKeyFromAnotherIssuanceIsRefused() throws Exception {
    write(CA.leaf().dns("localhost").issue());
    CA.leaf().dns("localhost").issue().writeTo(dir.resolve("other.crt"), dir.resolve("other.key"));
    Map<String, String> env = env("tls");
    env.put("TLS_KEY_FILE", dir.resolve("other.key").toString());
    assertThat(problems(env, ServerTlsConfig::from)).singleElement().asString()
        .startsWith("TLS_KEY_FILE=\"" + dir.resolve("other.key") + "\": expected the private key of the first certificate")
        .endsWith("this key belongs to another certificate");
  }

  @Test
  void aBadFileAtStartOfTheSourceIsAConfigurationProblemNamingTheVariable() throws Exception {
    write(CA.leaf().dns("localhost").issue());
    Files.writeString(key, "not a key");
    assertThatThrownBy(() -> TlsMaterialSource.load(TlsFiles.of(cert, key, null),
        new io.micrometer.core.instrument.simple.SimpleMeterRegistry(), java.time.Clock.systemUTC()))
        .isInstanceOf(ConfigException.class)
        .satisfies(e -> assertThat(((ConfigException) e).problems()).singleElement().asString()
            .startsWith("TLS_KEY_FILE=\"" + key + "\": expected an unencrypted PKCS#8"));
  }
}
