package dev.sidecars.traceinjector.upstream;

import dev.sidecars.runtime.http.ForwardingClientConnection;
import dev.sidecars.runtime.http.ForwardingClientExchange;
import io.undertow.client.ClientCallback;
import io.undertow.client.ClientConnection;
import io.undertow.client.ClientExchange;
import io.undertow.client.ClientRequest;
import io.undertow.client.ClientResponse;
import java.io.IOException;

/**
 * The upstream exchange Undertow's proxy holds, able to swap in a resent one before the proxy sees a
 * response: when the upstream answers 503 and {@link Resender} may resend, the 503 is dropped with its
 * connection and the proxy gets the next attempt's response instead. Only bodiless idempotent requests
 * get here, so nothing of the request has to be replayed but its head.
 */
final class ResendingExchange extends ForwardingClientExchange {
  /** Sends {@code request} again elsewhere and reports its exchange; false when no resend is allowed. */
  interface Resender {
    boolean resend(ClientExchange answered503, ClientCallback<ClientExchange> next);
  }

  private final Resender resender;
  private volatile ClientExchange current;
  private volatile boolean resending;

  ResendingExchange(ClientExchange first, Resender resender) {
    this.current = first;
    this.resender = resender;
  }

  @Override
  protected ClientExchange delegate() {
    return current;
  }

  /** Wraps each request sent on {@code connection}. */
  static ForwardingClientConnection on(ClientConnection connection, Resender resender) {
    return new ForwardingClientConnection(connection) {
      @Override
      public void sendRequest(ClientRequest request, ClientCallback<ClientExchange> callback) {
        delegate.sendRequest(request, new ClientCallback<>() {
          @Override
          public void completed(ClientExchange result) {
            callback.completed(new ResendingExchange(result, resender));
          }

          @Override
          public void failed(IOException e) {
            callback.failed(e);
          }
        });
      }
    };
  }

  @Override
  public void setResponseListener(ClientCallback<ClientExchange> listener) {
    current.setResponseListener(relay(listener));
  }

  private ClientCallback<ClientExchange> relay(ClientCallback<ClientExchange> listener) {
    return new ClientCallback<>() {
      @Override
      public void completed(ClientExchange result) {
        current = result;
        if (result.getResponse().getResponseCode() == 503) {
          resending = true;
          if (resender.resend(result, relay(listener))) {
            return;
          }
        }
        resending = false;
        listener.completed(ResendingExchange.this);
      }

      @Override
      public void failed(IOException e) {
        resending = false;
        listener.failed(e);
      }
    };
  }

  /** No response while a resend is under way, so a failure then is not taken for the upstream's answer. */
  @Override
  public ClientResponse getResponse() {
    return resending ? null : current.getResponse();
  }
}
