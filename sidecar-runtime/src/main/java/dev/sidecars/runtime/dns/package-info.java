/**
 * Host-name resolution for the proxies, off their I/O threads: {@link dev.sidecars.runtime.dns.HostResolver}
 * (a few lookup threads behind a bounded queue, answers and failures cached, failures counted), shared by a
 * proxy's pooled upstream connections ({@link dev.sidecars.runtime.dns.HostResolverGroup}, the resolver of
 * their Netty {@code Bootstrap}) and an egress proxy's own checks of where a call may go, so one name is looked
 * up once for both.
 */
package dev.sidecars.runtime.dns;
