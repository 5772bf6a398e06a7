package dev.sidecars.bench;

import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;

/**
 * The application of bench/grpc.sh: a grpc-java server (Netty transport, cleartext HTTP/2) serving
 * {@link GrpcEcho}, answering on the transport's threads (no executor hop: the cheapest a Java gRPC
 * service gets, so the hop under test, not the app, is what costs).
 *
 * <p>Options: {@code --port=0} (0: any free port), {@code --bind=127.0.0.1}. Prints
 * {@code listening on PORT} once serving; stops on SIGTERM.
 */
public final class GrpcEchoServer {
  private GrpcEchoServer() {}

  static Server start(String bind, int port) throws IOException {
    return NettyServerBuilder.forAddress(new InetSocketAddress(bind, port))
        .directExecutor()
        .addService(GrpcEcho.service())
        .build()
        .start();
  }

  public static void main(String[] argv) throws Exception {
    Server server;
    try {
      Args args = new Args(argv);
      String bind = args.string("bind", "127.0.0.1");
      int port = Integer.parseInt(args.string("port", "0"));
      args.done();
      server = start(bind, port);
    } catch (IllegalArgumentException e) {
      System.err.println("GrpcEchoServer: " + e.getMessage());
      System.err.println("usage: java -cp bench.jar dev.sidecars.bench.GrpcEchoServer [--port=0] [--bind=127.0.0.1]");
      System.exit(64);
      return;
    }
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      server.shutdown();
      try {
        server.awaitTermination(5, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }));
    System.out.println("listening on " + server.getPort());
    System.out.flush();
    server.awaitTermination();
  }
}
