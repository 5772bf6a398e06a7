/**
 * gRPC as a proxy sees it, without decoding a message: which call a request is ({@link
 * dev.sidecars.runtime.rpc.GrpcCall}), what its status codes mean ({@link dev.sidecars.runtime.rpc.GrpcStatus}),
 * and the per-call metrics of the OpenTelemetry RPC conventions ({@link dev.sidecars.runtime.rpc.RpcMetrics}).
 * The decorators that answer and time out gRPC calls are in {@code dev.sidecars.runtime.proxy}.
 */
package dev.sidecars.runtime.rpc;
