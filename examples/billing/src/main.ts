// The legacy billing service: Express with the ctxkit middleware.
// Start it with `npm start` (it needs `--import ./src/otel.ts`, which the script passes).
import { onShutdown, reportReady } from '@ctxkit-examples/shared';
import { buildApp } from './app.ts';
import { log } from './log.ts';
import { stopTelemetry } from './otel.ts';

const server = buildApp().listen(Number(process.env.BILLING_PORT ?? 0), '127.0.0.1', () => {
  const address = server.address();
  reportReady('billing', typeof address === 'object' && address !== null ? address.port : 0);
});
onShutdown(log, async () => {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  await closed;
  await stopTelemetry();
});
