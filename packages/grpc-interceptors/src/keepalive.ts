import type { ChannelOptions } from '@grpc/grpc-js';

/**
 * Keepalive and connection-age options for a grpc-js `Server`, spread into its options.
 *
 * Why: meshes and load balancers drop connections they see idle (AWS ALB after 60 s by default,
 * Azure LB after 4 min, AWS NLB after 350 s, Envoy after 1 h) without telling either end, and the
 * next call on the dead connection hangs until its deadline. A ping every 30 s (timeout 10 s)
 * keeps such connections alive or finds them dead quickly. Closing connections idle for 5 min and
 * ageing every connection out after 30 min (with 30 s of grace for calls in flight) makes clients
 * reconnect through the balancer, so new replicas get traffic.
 *
 * @example
 * const server = new Server({ ...serverKeepalive, interceptors: [serverInterceptor()] });
 */
export const serverKeepalive: Readonly<ChannelOptions> = Object.freeze({
  'grpc.keepalive_time_ms': 30_000,
  'grpc.keepalive_timeout_ms': 10_000,
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.max_connection_idle_ms': 5 * 60_000,
  'grpc.max_connection_age_ms': 30 * 60_000,
  'grpc.max_connection_age_grace_ms': 30_000,
});

/**
 * Keepalive options for a grpc-js client channel that servers at their default enforcement
 * accept: gRPC Go and C++ servers allow one ping per 5 minutes and none without calls
 * (grpc-go `keepalive.EnforcementPolicy{MinTime: 5 * time.Minute, PermitWithoutStream: false}`),
 * and answer GOAWAY `too_many_pings`, closing the connection and every call on it, to a client
 * that pings more. The default of {@link ClientPool}.
 *
 * A ping every 5 minutes, only while calls are in flight (timeout 20 s), finds a connection that
 * died under a long call (a stream) without ever being refused: grpc-go counts a strike for a
 * ping sooner than `MinTime` after the last one, or for a ping without streams, clears strikes
 * whenever it writes a response, and closes at the third; this preset sends neither kind. What
 * it cannot do is keep an idle connection through a balancer that drops idle ones (AWS ALB after
 * 60 s): where every server allows it, use {@link aggressiveChannelKeepalive}.
 *
 * @example
 * const client = new pkg.Orders(target, creds, { ...channelKeepalive, interceptors: [clientInterceptor()] });
 */
export const channelKeepalive: Readonly<ChannelOptions> = Object.freeze({
  'grpc.keepalive_time_ms': 5 * 60_000,
  'grpc.keepalive_timeout_ms': 20_000,
  'grpc.keepalive_permit_without_calls': 0,
});

/**
 * Keepalive options for a grpc-js client channel whose servers are configured to allow them: a
 * ping every 30 s, also between calls, keeps an idle connection through meshes and balancers
 * that drop idle ones and finds a dead one within 10 s instead of at the next call's deadline.
 *
 * Only for servers that permit it: grpc-js servers do; a gRPC Go server needs
 * `grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 20 * time.Second,
 * PermitWithoutStream: true})` (C++: `GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS` and
 * `GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS`). At their default policy those servers answer the
 * third ping with GOAWAY `too_many_pings` and close the connection; grpc-js then doubles its
 * ping interval for that connection.
 *
 * @example
 * const pool = new ClientPool({ credentials, channelOptions: aggressiveChannelKeepalive });
 */
export const aggressiveChannelKeepalive: Readonly<ChannelOptions> = Object.freeze({
  'grpc.keepalive_time_ms': 30_000,
  'grpc.keepalive_timeout_ms': 10_000,
  'grpc.keepalive_permit_without_calls': 1,
});
