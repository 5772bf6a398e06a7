package dev.sidecars.runtime.http;

import io.undertow.client.ClientCallback;
import io.undertow.client.ClientConnection;
import io.undertow.client.ClientExchange;
import io.undertow.client.ClientRequest;
import io.undertow.client.ClientResponse;
import io.undertow.client.ContinueNotification;
import io.undertow.client.PushCallback;
import io.undertow.util.AttachmentKey;
import io.undertow.util.AttachmentList;
import java.util.List;
import org.xnio.channels.StreamSinkChannel;
import org.xnio.channels.StreamSourceChannel;

/**
 * An upstream exchange passed through to {@link #delegate()} unchanged; subclasses change what they need to
 * see or alter (the response a proxy is given, its channels, the connection it reports).
 */
public abstract class ForwardingClientExchange implements ClientExchange {
  /** The exchange calls go to; may change over time (a resent request). */
  protected abstract ClientExchange delegate();

  @Override
  public void setResponseListener(ClientCallback<ClientExchange> listener) {
    delegate().setResponseListener(listener);
  }

  @Override
  public void setContinueHandler(ContinueNotification handler) {
    delegate().setContinueHandler(handler);
  }

  @Override
  public void setPushHandler(PushCallback handler) {
    delegate().setPushHandler(handler);
  }

  @Override
  public StreamSinkChannel getRequestChannel() {
    return delegate().getRequestChannel();
  }

  @Override
  public StreamSourceChannel getResponseChannel() {
    return delegate().getResponseChannel();
  }

  @Override
  public ClientRequest getRequest() {
    return delegate().getRequest();
  }

  @Override
  public ClientResponse getResponse() {
    return delegate().getResponse();
  }

  @Override
  public ClientResponse getContinueResponse() {
    return delegate().getContinueResponse();
  }

  @Override
  public ClientConnection getConnection() {
    return delegate().getConnection();
  }

  @Override
  public <T> T getAttachment(AttachmentKey<T> key) {
    return delegate().getAttachment(key);
  }

  @Override
  public <T> List<T> getAttachmentList(AttachmentKey<? extends List<T>> key) {
    return delegate().getAttachmentList(key);
  }

  @Override
  public <T> T putAttachment(AttachmentKey<T> key, T value) {
    return delegate().putAttachment(key, value);
  }

  @Override
  public <T> T removeAttachment(AttachmentKey<T> key) {
    return delegate().removeAttachment(key);
  }

  @Override
  public <T> void addToAttachmentList(AttachmentKey<AttachmentList<T>> key, T value) {
    delegate().addToAttachmentList(key, value);
  }
}
