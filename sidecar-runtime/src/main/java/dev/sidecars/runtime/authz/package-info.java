/**
 * Authorization of requests by peer identity, path prefix and method ({@code AUTHZ_POLICY}): {@link
 * dev.sidecars.runtime.authz.AuthorizationPolicy}. The ingress proxy asks it once per request, after TLS
 * has named the peer and before rate limits, and answers 403 when it says no.
 */
package dev.sidecars.runtime.authz;
