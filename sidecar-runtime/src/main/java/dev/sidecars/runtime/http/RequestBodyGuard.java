package dev.sidecars.runtime.http;

import io.undertow.UndertowMessages;
import io.undertow.server.Connectors;
import io.undertow.server.HttpServerExchange;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.xnio.IoUtils;
import org.xnio.channels.StreamSinkChannel;
import org.xnio.conduits.AbstractStreamSourceConduit;
import org.xnio.conduits.ConduitReadableByteChannel;
import org.xnio.conduits.StreamSourceConduit;

/**
 * Sits on a request body, above Undertow's chunk decoder, while the proxy streams it to the upstream. It
 * counts the decoded bytes against the body limit, recognises the decoder's errors on malformed chunking,
 * and times out a client that stops sending (the time only runs while the proxy is waiting for the
 * client's bytes, not while the upstream is slow to take them). Each time it records why in the {@link
 * ExchangeOutcome} ({@link ResponseFlag#REQUEST_TOO_LARGE}, {@link ResponseFlag#BAD_REQUEST} or {@link
 * ResponseFlag#REQUEST_BODY_TIMEOUT}), aborts the upstream connection so the app never sees the cut body
 * as complete, and fails the read, so Undertow's proxy gives up on the exchange; {@link UpstreamGuard}
 * then turns the proxy's error answer into 413 or 408 with {@code Connection: close} if the response has
 * not started. (On malformed chunking the decoder has already closed the client connection when its error
 * gets here, so there is no 400 to give; cutting the app off still matters.) A client that goes away
 * mid-body is recorded as {@link ResponseFlag#CLIENT_DISCONNECTED}.
 *
 * <p>Why here and not with {@code UndertowOptions.MAX_ENTITY_SIZE}: Undertow's own check ends the
 * exchange's request as finished before it fails the read, and the proxy then closes the upstream
 * connection cleanly, which writes the last chunk: the app received a truncated body as a complete one.
 */
final class RequestBodyGuard extends AbstractStreamSourceConduit<StreamSourceConduit> {
  /** What Undertow's chunk decoder throws on framing it cannot read (it reads much else leniently). */
  private static final Set<String> MALFORMED = Set.of(
      UndertowMessages.MESSAGES.couldNotDecodeTrailers().getMessage(),
      UndertowMessages.MESSAGES.chunkSizeTooLarge().getMessage());

  private final HttpServerExchange exchange;
  private final ExchangeOutcome outcome;
  private final long limit;
  private final long timeoutNanos;
  private long received;
  private volatile IOException failure;
  /** When the proxy began waiting for the client's next bytes ({@code System.nanoTime()}); 0 when not waiting. */
  private volatile long waitingSince;

  /**
   * @param limit the largest body accepted, in decoded bytes; 0 or less: no limit
   * @param timeout how long the client may keep the proxy waiting for the body's next bytes; zero: no limit
   */
  RequestBodyGuard(StreamSourceConduit next, HttpServerExchange exchange, ExchangeOutcome outcome, long limit, Duration timeout) {
    super(next);
    this.exchange = exchange;
    this.outcome = outcome;
    this.limit = limit;
    this.timeoutNanos = timeout.toNanos();
    if (timeoutNanos > 0) {
      exchange.getIoThread().executeAfter(this::checkStalled, timeoutNanos, TimeUnit.NANOSECONDS);
    }
  }

  /**
   * On the exchange's I/O thread, every timeout: fails the body when the proxy has been waiting for the
   * client's bytes all that time, and wakes the proxy's read so it meets the failure.
   */
  private void checkStalled() {
    if (failure != null || exchange.isComplete() || exchange.isRequestComplete()) {
      return;
    }
    long since = waitingSince;
    long waited = since == 0 ? 0 : System.nanoTime() - since;
    if (waited < timeoutNanos) {
      exchange.getIoThread().executeAfter(this::checkStalled, timeoutNanos - waited, TimeUnit.NANOSECONDS);
      return;
    }
    reject(ResponseFlag.REQUEST_BODY_TIMEOUT,
        new IOException("no request body bytes for " + Duration.ofNanos(timeoutNanos).toMillis() + " ms"));
    next.wakeupReads();
  }

  @Override
  public int read(ByteBuffer dst) throws IOException {
    checkNotFailed();
    int n;
    try {
      n = next.read(dst);
    } catch (IOException e) {
      throw readFailed(e);
    }
    counted(n);
    return n;
  }

  @Override
  public long read(ByteBuffer[] dsts, int offs, int len) throws IOException {
    checkNotFailed();
    long n;
    try {
      n = next.read(dsts, offs, len);
    } catch (IOException e) {
      throw readFailed(e);
    }
    counted(n);
    return n;
  }

  // Both transfers go through read() above, so no byte escapes the count.
  @Override
  public long transferTo(long position, long count, FileChannel target) throws IOException {
    return target.transferFrom(new ConduitReadableByteChannel(this), position, count);
  }

  @Override
  public long transferTo(long count, ByteBuffer throughBuffer, StreamSinkChannel target) throws IOException {
    return IoUtils.transfer(new ConduitReadableByteChannel(this), count, throughBuffer, target);
  }

  private void checkNotFailed() throws IOException {
    if (failure != null) {
      throw failure;
    }
  }

  private void counted(long n) throws IOException {
    if (n == 0) {
      if (waitingSince == 0) {
        waitingSince = System.nanoTime();
      }
      return;
    }
    waitingSince = 0;
    if (n < 0) {
      if (!exchange.isRequestComplete()) {
        // The decoders end a body they read to its end before they return -1: this one was cut short.
        outcome.flag(ResponseFlag.CLIENT_DISCONNECTED);
      }
      return;
    }
    received += n;
    if (limit > 0 && received > limit) {
      throw reject(ResponseFlag.REQUEST_TOO_LARGE, new IOException("request body larger than " + limit + " bytes"));
    }
  }

  private IOException readFailed(IOException e) {
    if (failure != null) {
      return e;
    }
    String message = e.getMessage();
    if (message != null && MALFORMED.contains(message)) {
      return reject(ResponseFlag.BAD_REQUEST, e);
    }
    // The client went away or reset: the upstream's connection is cut when the proxy gives up on it.
    outcome.flag(ResponseFlag.CLIENT_DISCONNECTED);
    return e;
  }

  private IOException reject(ResponseFlag flag, IOException cause) {
    failure = cause;
    outcome.flag(flag);
    // End our side of the request as Undertow's own limit does: the rest of the body is never read, so the
    // client connection cannot be kept. This comes first because cutting the app off below may make the
    // proxy answer the client at once, and an answer to an unfinished request would try to read the rest.
    exchange.setPersistent(false);
    Connectors.terminateRequest(exchange);
    outcome.abortUpstream();
    return cause;
  }
}
