package dev.sidecars.bench;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.CodedInputStream;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class GrpcLoadTest {
  private static final long DRAIN = TimeUnit.SECONDS.toNanos(10);

  @Test
  void thePayloadIsAProtobufMessageOfExactlyTheAskedSize() throws Exception {
    for (int size : new int[] {3, 129, 1024, 70_000}) {
      byte[] p = GrpcEcho.payload(size);
      assertThat(p).hasSize(size);
      CodedInputStream in = CodedInputStream.newInstance(p);
      assertThat(in.readTag()).isEqualTo(10); // field 1, length-delimited
      assertThat(in.readBytes().size()).isLessThan(size);
      assertThat(in.isAtEnd()).isTrue();
    }
    assertThat(GrpcEcho.payload(130)).hasSize(129); // 127 bytes' length takes one byte, 128 bytes' two
  }

  @Test
  void callsThroughTheEchoServerSucceedPacedAndFlatOut() throws Exception {
    Server server = GrpcEchoServer.start("127.0.0.1", 0);
    try (Caller caller = new GrpcLoad.Channels("127.0.0.1:" + server.getPort(), 3, GrpcEcho.payload(1024),
        TimeUnit.SECONDS.toNanos(5))) {
      CallLoad load = new CallLoad(Ticker.SYSTEM);
      CallStats paced = load.paced(caller, 3, 200, TimeUnit.MILLISECONDS.toNanos(500), DRAIN);
      CallStats max = load.max(caller, 3, 12, TimeUnit.MILLISECONDS.toNanos(300), DRAIN);

      assertThat(paced.reasons()).isEmpty();
      assertThat(paced.ok()).isEqualTo(100);
      assertThat(paced.histogram().getTotalCount()).isEqualTo(100);
      assertThat(max.reasons()).isEmpty();
      assertThat(max.ok()).isEqualTo(max.issued()).isPositive();
    } finally {
      server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  @Test
  void aServerWithoutTheMethodCountsAsFailuresByStatus() throws Exception {
    Server server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)).build().start();
    try (Caller caller = new GrpcLoad.Channels("127.0.0.1:" + server.getPort(), 1, GrpcEcho.payload(64),
        TimeUnit.SECONDS.toNanos(5))) {
      CallStats paced = new CallLoad(Ticker.SYSTEM).paced(caller, 1, 100, TimeUnit.MILLISECONDS.toNanos(200), DRAIN);

      assertThat(paced.ok()).isZero();
      assertThat(paced.failed()).isEqualTo(20);
      assertThat(paced.reasons().keySet()).singleElement().asString().startsWith("UNIMPLEMENTED");
    } finally {
      server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }
}
