package dev.sidecars.runtime.tls;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sidecars.testing.tls.TestCa;
import dev.sidecars.testing.tls.TestCertificate;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Headers;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/** The identity a certificate gives, in the order meshes read it, and the header the app is given. */
class PeerCertificateTest {
  private static final TestCa CA = TestCa.create("ca");

  @Test
  void uriSanFirstThenDnsSanThenCommonNameThenSubject() {
    TestCertificate all = CA.leaf().commonName("cn-name").dns("payment.shop.svc").uri("spiffe://cluster.local/ns/shop/sa/payment")
        .uri("https://second.example").issue();
    PeerCertificate peer = PeerCertificate.of(all.certificate());
    assertThat(peer.identity()).isEqualTo("spiffe://cluster.local/ns/shop/sa/payment");
    assertThat(peer.uris()).containsExactly("spiffe://cluster.local/ns/shop/sa/payment", "https://second.example");
    assertThat(peer.subject()).isEqualTo("CN=cn-name");

    assertThat(PeerCertificate.of(CA.leaf().commonName("cn-name").dns("a.example").dns("b.example").issue().certificate())
        .identity()).isEqualTo("a.example");
    assertThat(PeerCertificate.of(CA.leaf().organization("shop").commonName("cn-name").issue().certificate()).identity())
        .isEqualTo("cn-name");
    assertThat(PeerCertificate.of(CA.leaf().organization("shop").issue().certificate()).identity()).isEqualTo("O=shop");
  }

  @Test
  void hashIsTheSha256OfTheDerEncoding() throws Exception {
    TestCertificate leaf = CA.leaf().dns("x").issue();
    assertThat(PeerCertificate.of(leaf.certificate()).sha256()).isEqualTo(HexFormat.of().formatHex(
        java.security.MessageDigest.getInstance("SHA-256").digest(leaf.certificate().getEncoded())));
  }

  @Test
  void forwardedClientCertHasEnvoysShapeAndQuotesWhatNeedsIt() {
    TestCertificate client = CA.leaf().organization("shop, inc").commonName("checkout").uri("spiffe://cluster.local/ns/shop/sa/checkout")
        .dns("checkout.shop.svc").dns("checkout").issue();
    PeerCertificate peer = PeerCertificate.of(client.certificate());
    assertThat(ForwardedClientCert.value(peer, "spiffe://cluster.local/ns/shop/sa/payment")).isEqualTo(
        "By=spiffe://cluster.local/ns/shop/sa/payment;Hash=" + peer.sha256()
            + ";Subject=\"CN=checkout,O=shop\\, inc\";URI=spiffe://cluster.local/ns/shop/sa/checkout"
            + ";DNS=checkout.shop.svc;DNS=checkout");
    PeerCertificate quoted = new PeerCertificate("x", java.util.List.of("spiffe://a;b"), java.util.List.of(), "CN=\"q\"", "00");
    assertThat(ForwardedClientCert.value(quoted, null)).isEqualTo("Hash=00;Subject=\"CN=\\\"q\\\"\";URI=\"spiffe://a;b\"");
  }

  @Test
  void replaceRemovesEveryHeaderFromOutsideAndAddsOursOnlyForAVerifiedClient() {
    PeerCertificate peer = PeerCertificate.of(CA.leaf().uri("spiffe://c").issue().certificate());
    HttpHeaders http1 = new DefaultHttpHeaders().add("X-Forwarded-Client-Cert", "By=evil").add("x-forwarded-client-cert", "URI=x")
        .add("other", "kept");
    ForwardedClientCert.replace(http1, peer, "spiffe://me");
    assertThat(http1.getAll("x-forwarded-client-cert")).singleElement().asString().startsWith("By=spiffe://me;Hash=");
    assertThat(http1.get("other")).isEqualTo("kept");
    ForwardedClientCert.replace(http1, null, "spiffe://me");
    assertThat(http1.contains("x-forwarded-client-cert")).isFalse();

    Http2Headers http2 = new DefaultHttp2Headers().add("x-forwarded-client-cert", "By=evil");
    ForwardedClientCert.replace(http2, peer, "spiffe://me");
    assertThat(http2.getAll("x-forwarded-client-cert")).singleElement().asString().startsWith("By=spiffe://me;Hash=");
  }
}
