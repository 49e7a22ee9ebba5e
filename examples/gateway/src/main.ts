// The public gateway: Fastify with the ctxkit plugin, calling the orders service over gRPC.
// Start it with `npm start` (it needs `--import ./src/otel.ts`, which the script passes).
import { onShutdown, reportReady } from '@ctxkit-examples/shared';
import { buildApp } from './app.ts';
import { log } from './log.ts';
import { pool } from './orders-client.ts';
import { stopTelemetry } from './otel.ts';

const app = await buildApp();
await app.listen({ host: '127.0.0.1', port: Number(process.env.GATEWAY_PORT ?? 0) });
const address = app.server.address();
onShutdown(log, async () => {
  await app.close();
  pool.close();
  await stopTelemetry();
});
reportReady('gateway', typeof address === 'object' && address !== null ? address.port : 0);
