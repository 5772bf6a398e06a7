package dev.sidecars.traceinjector.upstream;

import dev.sidecars.runtime.http.ForwardingClientConnection;
import io.undertow.client.ClientCallback;
import io.undertow.client.ClientConnection;
import io.undertow.client.ClientExchange;
import io.undertow.client.ClientRequest;
import io.undertow.client.ClientResponse;
import io.undertow.client.ContinueNotification;
import io.undertow.client.PushCallback;
import io.undertow.util.AttachmentKey;
import io.undertow.util.AttachmentList;
import java.io.IOException;
import java.util.List;
import org.xnio.channels.StreamSinkChannel;
import org.xnio.channels.StreamSourceChannel;

/**
 * The upstream exchange Undertow's proxy holds, able to swap in a resent one before the proxy sees a
 * response: when the upstream answers 503 and {@link Resender} may resend, the 503 is dropped with its
 * connection and the proxy gets the next attempt's response instead. Only bodiless idempotent requests
 * get here, so nothing of the request has to be replayed but its head.
 */
final class ResendingExchange implements ClientExchange {
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

  @Override
  public void setContinueHandler(ContinueNotification handler) {
    current.setContinueHandler(handler);
  }

  @Override
  public void setPushHandler(PushCallback handler) {
    current.setPushHandler(handler);
  }

  @Override
  public StreamSinkChannel getRequestChannel() {
    return current.getRequestChannel();
  }

  @Override
  public StreamSourceChannel getResponseChannel() {
    return current.getResponseChannel();
  }

  @Override
  public ClientRequest getRequest() {
    return current.getRequest();
  }

  /** No response while a resend is under way, so a failure then is not taken for the upstream's answer. */
  @Override
  public ClientResponse getResponse() {
    return resending ? null : current.getResponse();
  }

  @Override
  public ClientResponse getContinueResponse() {
    return current.getContinueResponse();
  }

  @Override
  public ClientConnection getConnection() {
    return current.getConnection();
  }

  @Override
  public <T> T getAttachment(AttachmentKey<T> key) {
    return current.getAttachment(key);
  }

  @Override
  public <T> List<T> getAttachmentList(AttachmentKey<? extends List<T>> key) {
    return current.getAttachmentList(key);
  }

  @Override
  public <T> T putAttachment(AttachmentKey<T> key, T value) {
    return current.putAttachment(key, value);
  }

  @Override
  public <T> T removeAttachment(AttachmentKey<T> key) {
    return current.removeAttachment(key);
  }

  @Override
  public <T> void addToAttachmentList(AttachmentKey<AttachmentList<T>> key, T value) {
    current.addToAttachmentList(key, value);
  }
}
