import { type Server, ServerCredentials } from '@grpc/grpc-js';
import { reportReady } from './hop.ts';
import { serviceLog } from './log.ts';
import { onShutdown } from './shutdown.ts';

/**
 * Binds a gRPC `server` to `address` (port 0: any free port), reports the port, and shuts it down
 * gracefully on a signal or when the demo goes away: calls in flight get 2 s to finish, then
 * `close` releases what the service opened (its client pool, telemetry).
 */
export async function serveGrpc(service: string, server: Server, address: string, close: () => Promise<void>): Promise<void> {
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(address, ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound)));
  });
  onShutdown(serviceLog(service), async () => {
    const force = setTimeout(() => server.forceShutdown(), 2000).unref();
    await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
    clearTimeout(force);
    await close();
  });
  reportReady(service, port);
}
