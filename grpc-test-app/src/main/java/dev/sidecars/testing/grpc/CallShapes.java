package dev.sidecars.testing.grpc;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientInterceptors;
import io.grpc.Metadata;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import java.io.ByteArrayOutputStream;
import java.util.Arrays;
import java.util.Iterator;
import java.util.Random;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * One call of each gRPC shape to a {@link GrpcApp} through whatever {@code channel} reaches it, each
 * checked byte for byte: unary with its custom trailer, server streaming, client streaming, and
 * bidirectional with each reply awaited before the next message goes (so nothing on the way may wait for
 * the end of a stream). A difference fails with an {@link AssertionError} saying which.
 */
public final class CallShapes {
  private static final long WAIT_SECONDS = 20;

  private CallShapes() {}

  /** Every shape, with messages of up to {@code largest} bytes. */
  public static void checkAll(Channel channel, int largest) throws InterruptedException {
    unary(channel, largest);
    serverStreaming(channel, 100, Math.max(1, largest / 8));
    clientStreaming(channel, 30, Math.max(1, largest / 4));
    bidirectional(channel, 15);
  }

  public static void unary(Channel channel, int size) {
    byte[] message = new byte[size];
    new Random(5).nextBytes(message);
    AtomicReference<Metadata> headers = new AtomicReference<>();
    AtomicReference<Metadata> trailers = new AtomicReference<>();
    byte[] echoed = ClientCalls.blockingUnaryCall(
        ClientInterceptors.intercept(channel, MetadataUtils.newCaptureMetadataInterceptor(headers, trailers)),
        GrpcApp.ECHO, deadline(), message);
    check(Arrays.equals(echoed, message), "unary: the echo differs from the message");
    String trailer = trailers.get().get(GrpcApp.CUSTOM_TRAILER);
    check(("t-" + size).equals(trailer), "unary: custom trailer " + trailer + ", expected t-" + size);
  }

  public static void serverStreaming(Channel channel, int count, int size) {
    Iterator<byte[]> stream = ClientCalls.blockingServerStreamingCall(channel, GrpcApp.COUNT, deadline(),
        GrpcApp.count(count, size, 0));
    int received = 0;
    while (stream.hasNext()) {
      byte[] next = stream.next();
      byte[] expected = new byte[size];
      Arrays.fill(expected, (byte) received);
      check(Arrays.equals(next, expected), "server streaming: message " + received + " differs");
      received++;
    }
    check(received == count, "server streaming: " + received + " messages, expected " + count);
  }

  public static void clientStreaming(Channel channel, int count, int largest) throws InterruptedException {
    LinkedBlockingQueue<Object> answer = new LinkedBlockingQueue<>();
    StreamObserver<byte[]> upload = ClientCalls.asyncClientStreamingCall(
        channel.newCall(GrpcApp.CONCAT, deadline()), into(answer));
    ByteArrayOutputStream sent = new ByteArrayOutputStream();
    Random random = new Random(7);
    for (int i = 0; i < count; i++) {
      byte[] part = new byte[1 + random.nextInt(largest)];
      random.nextBytes(part);
      sent.writeBytes(part);
      upload.onNext(part);
    }
    upload.onCompleted();
    Object joined = answer.poll(WAIT_SECONDS, TimeUnit.SECONDS);
    check(joined instanceof byte[] bytes && Arrays.equals(bytes, sent.toByteArray()),
        "client streaming: the joined messages differ (" + joined + ")");
  }

  public static void bidirectional(Channel channel, int count) throws InterruptedException {
    LinkedBlockingQueue<Object> replies = new LinkedBlockingQueue<>();
    StreamObserver<byte[]> chat = ClientCalls.asyncBidiStreamingCall(channel.newCall(GrpcApp.CHAT, deadline()),
        into(replies));
    for (int i = 0; i < count; i++) {
      byte[] line = ("line " + i).getBytes(java.nio.charset.StandardCharsets.UTF_8);
      chat.onNext(line);
      Object reply = replies.poll(WAIT_SECONDS, TimeUnit.SECONDS);
      check(reply instanceof byte[] bytes && Arrays.equals(bytes, line),
          "bidirectional: no reply " + i + " before the next message (" + reply + ")");
    }
    chat.onCompleted();
    Object end = replies.poll(WAIT_SECONDS, TimeUnit.SECONDS);
    check("completed".equals(end), "bidirectional: the call did not complete (" + end + ")");
  }

  /** Messages, then {@code "completed"} or the error, into {@code queue}. */
  public static StreamObserver<byte[]> into(LinkedBlockingQueue<Object> queue) {
    return new StreamObserver<>() {
      @Override
      public void onNext(byte[] value) {
        queue.add(value);
      }

      @Override
      public void onError(Throwable t) {
        queue.add(t);
      }

      @Override
      public void onCompleted() {
        queue.add("completed");
      }
    };
  }

  private static CallOptions deadline() {
    return CallOptions.DEFAULT.withDeadlineAfter(WAIT_SECONDS, TimeUnit.SECONDS);
  }

  private static void check(boolean ok, String what) {
    if (!ok) {
      throw new AssertionError(what);
    }
  }
}
