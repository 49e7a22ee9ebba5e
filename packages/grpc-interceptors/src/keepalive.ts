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
 * Keepalive options for a grpc-js client channel, spread into a client's options.
 *
 * Why: the same idle-connection drops as {@link serverKeepalive}, seen from the caller: a ping
 * every 30 s, also between calls, keeps the connection through meshes and balancers and detects
 * a dead one within 10 s instead of at the next call's deadline. Servers in other languages
 * refuse pings more frequent than their policy allows (gRPC Go and C++ default to one per 5 min
 * without calls): allow at least one per 30 s there (Go: `keepalive.EnforcementPolicy{MinTime:
 * 20 * time.Second, PermitWithoutStream: true}`). grpc-js servers accept them.
 *
 * @example
 * const client = new pkg.Orders(target, creds, { ...channelKeepalive, interceptors: [clientInterceptor()] });
 */
export const channelKeepalive: Readonly<ChannelOptions> = Object.freeze({
  'grpc.keepalive_time_ms': 30_000,
  'grpc.keepalive_timeout_ms': 10_000,
  'grpc.keepalive_permit_without_calls': 1,
});
