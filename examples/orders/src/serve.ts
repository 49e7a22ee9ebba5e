import type { Server } from '@grpc/grpc-js';
import { ServerCredentials } from '@grpc/grpc-js';
import { reportReady } from './hop.ts';
import { log } from './log.ts';
import { stopTelemetry } from './otel.ts';

/**
 * Binds `server` to `address` (port 0: any free port), reports the port, and shuts it down
 * gracefully on SIGTERM or SIGINT, or when the demo that started this process goes away;
 * `onStop` then closes what the service opened (its client pool).
 */
export async function serve(server: Server, address: string, onStop: () => void = () => {}): Promise<void> {
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(address, ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound)));
  });
  let stopping = false;
  const stop = (why: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ why }, 'shutting down');
    // Calls in flight get a moment to finish; then they are cancelled.
    const force = setTimeout(() => server.forceShutdown(), 2000).unref();
    server.tryShutdown(() => {
      clearTimeout(force);
      onStop();
      void stopTelemetry().finally(() => process.exit(0));
    });
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('disconnect', () => stop('parent went away'));
  reportReady(port);
}
