package dev.sidecars.runtime.proxy;

import io.netty.buffer.AdaptiveByteBufAllocator;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.util.concurrent.TimeUnit;

/**
 * The threads and buffers of a proxy's data plane: {@code threads} event loops (NIO) serving both the
 * client connections and the upstream ones, so each exchange stays on one thread end to end, and one
 * buffer allocator.
 *
 * <p>The allocator is Netty's adaptive pooled one with direct buffers: it sizes its chunks by what is
 * used, so a sidecar that moves little holds little (the classic pooled allocator reserves arenas per
 * thread up front), and direct buffers go to the socket without a copy.
 */
public final class ProxyEventLoops implements AutoCloseable {
  private final EventLoopGroup group;
  private final ByteBufAllocator allocator;

  public ProxyEventLoops(int threads, String name) {
    this.group = new MultiThreadIoEventLoopGroup(threads, new DefaultThreadFactory(name, true), NioIoHandler.newFactory());
    this.allocator = new AdaptiveByteBufAllocator(true);
  }

  public EventLoopGroup group() {
    return group;
  }

  public ByteBufAllocator allocator() {
    return allocator;
  }

  /** Stops the threads once what they run is over (at most a few seconds). */
  @Override
  public void close() {
    group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
  }
}
