package dev.sidecars.runtime.http;

import io.undertow.client.ClientCallback;
import io.undertow.client.ClientConnection;
import io.undertow.client.ClientExchange;
import io.undertow.client.ClientRequest;
import io.undertow.client.ClientStatistics;
import io.undertow.connector.ByteBufferPool;
import java.io.IOException;
import java.net.SocketAddress;
import java.util.concurrent.TimeUnit;
import org.xnio.ChannelListener;
import org.xnio.Option;
import org.xnio.StreamConnection;
import org.xnio.XnioIoThread;
import org.xnio.XnioWorker;

/**
 * A pooled upstream connection passed through unchanged; subclasses change {@link #sendRequest} to see
 * or alter each request a proxy sends on it (both proxies observe their upstream exchanges this way).
 */
public abstract class ForwardingClientConnection implements ClientConnection {
  protected final ClientConnection delegate;

  protected ForwardingClientConnection(ClientConnection delegate) {
    this.delegate = delegate;
  }

  @Override
  public void sendRequest(ClientRequest request, ClientCallback<ClientExchange> callback) {
    delegate.sendRequest(request, callback);
  }

  @Override
  public StreamConnection performUpgrade() throws IOException {
    return delegate.performUpgrade();
  }

  @Override
  public ByteBufferPool getBufferPool() {
    return delegate.getBufferPool();
  }

  @Override
  public SocketAddress getPeerAddress() {
    return delegate.getPeerAddress();
  }

  @Override
  public <A extends SocketAddress> A getPeerAddress(Class<A> type) {
    return delegate.getPeerAddress(type);
  }

  @Override
  public ChannelListener.Setter<? extends ClientConnection> getCloseSetter() {
    return delegate.getCloseSetter();
  }

  @Override
  public SocketAddress getLocalAddress() {
    return delegate.getLocalAddress();
  }

  @Override
  public <A extends SocketAddress> A getLocalAddress(Class<A> type) {
    return delegate.getLocalAddress(type);
  }

  @Override
  public XnioWorker getWorker() {
    return delegate.getWorker();
  }

  @Override
  public XnioIoThread getIoThread() {
    return delegate.getIoThread();
  }

  @Override
  public boolean isOpen() {
    return delegate.isOpen();
  }

  @Override
  public void close() throws IOException {
    delegate.close();
  }

  @Override
  public boolean supportsOption(Option<?> option) {
    return delegate.supportsOption(option);
  }

  @Override
  public <T> T getOption(Option<T> option) throws IOException {
    return delegate.getOption(option);
  }

  @Override
  public <T> T setOption(Option<T> option, T value) throws IOException {
    return delegate.setOption(option, value);
  }

  @Override
  public boolean isUpgraded() {
    return delegate.isUpgraded();
  }

  @Override
  public boolean isPushSupported() {
    return delegate.isPushSupported();
  }

  @Override
  public boolean isMultiplexingSupported() {
    return delegate.isMultiplexingSupported();
  }

  @Override
  public ClientStatistics getStatistics() {
    return delegate.getStatistics();
  }

  @Override
  public boolean isUpgradeSupported() {
    return delegate.isUpgradeSupported();
  }

  @Override
  public void addCloseListener(ChannelListener<ClientConnection> listener) {
    delegate.addCloseListener(listener);
  }

  @Override
  public boolean isPingSupported() {
    return delegate.isPingSupported();
  }

  @Override
  public void sendPing(PingListener listener, long timeout, TimeUnit unit) {
    delegate.sendPing(listener, timeout, unit);
  }
}
