// Retries inside the budget, and shutdown as cancellation, on a gRPC service and its clients.
import { LiveContexts } from '@ctxkit/core';
import { createFetch } from '@ctxkit/core/fetch';
import { clientInterceptor, serverInterceptor, shutdownServer } from '@ctxkit/grpc';
import * as grpc from '@grpc/grpc-js';

// A client over two replicas that retries UNAVAILABLE (a replica down or shutting down), up to
// 3 attempts, each inside what is left of the request's budget.
export const stock = new grpc.Client('ipv4:10.0.0.1:50051,10.0.0.2:50051', grpc.credentials.createInsecure(), {
  'grpc.service_config': JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] }),
  interceptors: [clientInterceptor({ retry: true })],
});
// HTTP: idempotent methods on 502, 503 and connection failures.
export const billingFetch = createFetch({ retry: { maxAttempts: 2 } });

// The server keeps its live calls; SIGTERM drains them (5 s), then cancels what is left as
// UNAVAILABLE, which the callers' retry policy sends to another replica.
const live = new LiveContexts();
export const server = new grpc.Server({ interceptors: [serverInterceptor({ live })] });
process.once('SIGTERM', async () => {
  const report = await shutdownServer(server, live, { drainMs: 5_000 });
  console.log('drained', report); // { inFlight, finished, cancelled, left, durationMs }
  process.exit(0);
});
