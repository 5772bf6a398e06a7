package dev.sidecars.runtime.http;

import io.undertow.UndertowMessages;
import io.undertow.server.Connectors;
import io.undertow.server.HttpServerExchange;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.Set;
import org.xnio.IoUtils;
import org.xnio.channels.StreamSinkChannel;
import org.xnio.conduits.AbstractStreamSourceConduit;
import org.xnio.conduits.ConduitReadableByteChannel;
import org.xnio.conduits.StreamSourceConduit;

/**
 * Sits on a chunked request body, above Undertow's chunk decoder, while the proxy streams it to the
 * upstream. It counts the decoded bytes against the body limit and recognises the decoder's errors on
 * malformed chunking. Either way it records why in the {@link ExchangeOutcome} ({@link
 * ResponseFlag#REQUEST_TOO_LARGE} or {@link ResponseFlag#BAD_REQUEST}), aborts the upstream connection so
 * the app never sees the cut body as complete, and fails the read, so Undertow's proxy gives up on the
 * exchange; {@link UpstreamGuard} then turns the proxy's error answer into 413 with {@code Connection:
 * close} if the response has not started. (On malformed chunking the decoder has already closed the client
 * connection when its error gets here, so there is no 400 to give; cutting the app off still matters.)
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
  private long received;
  private IOException failure;

  /** @param limit the largest body accepted, in decoded bytes; 0 or less: no limit */
  RequestBodyGuard(StreamSourceConduit next, HttpServerExchange exchange, ExchangeOutcome outcome, long limit) {
    super(next);
    this.exchange = exchange;
    this.outcome = outcome;
    this.limit = limit;
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
    if (n <= 0) {
      return;
    }
    received += n;
    if (limit > 0 && received > limit) {
      throw reject(ResponseFlag.REQUEST_TOO_LARGE, new IOException("request body larger than " + limit + " bytes"));
    }
  }

  private IOException readFailed(IOException e) {
    // Anything else (the client went away, a reset) is not the request's fault and keeps its old handling.
    return MALFORMED.contains(e.getMessage()) ? reject(ResponseFlag.BAD_REQUEST, e) : e;
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
