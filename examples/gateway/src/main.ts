// The public gateway: Fastify with the ctxkit plugin, calling the orders service over gRPC.
// Start it with `npm start` (it needs `--import ./src/otel.ts`, which the script passes).
import { buildApp } from './app.ts';
import { reportReady } from './hop.ts';
import { log } from './log.ts';
import { pool } from './orders-client.ts';
import { stopTelemetry } from './otel.ts';

const app = await buildApp();
await app.listen({ host: '127.0.0.1', port: Number(process.env.GATEWAY_PORT ?? 0) });
const address = app.server.address();
reportReady(typeof address === 'object' && address !== null ? address.port : 0);

let stopping = false;
async function stop(why: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  log.info({ why }, 'shutting down');
  setTimeout(() => process.exit(1), 3000).unref();
  await app.close();
  pool.close();
  await stopTelemetry();
  process.exit(0);
}
process.once('SIGTERM', () => void stop('SIGTERM'));
process.once('SIGINT', () => void stop('SIGINT'));
process.once('disconnect', () => void stop('parent went away'));
