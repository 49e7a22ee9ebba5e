// The legacy billing service: Express with the ctxkit middleware.
// Start it with `npm start` (it needs `--import ./src/otel.ts`, which the script passes).
import { buildApp } from './app.ts';
import { reportReady } from './hop.ts';
import { log } from './log.ts';
import { stopTelemetry } from './otel.ts';

const server = buildApp().listen(Number(process.env.BILLING_PORT ?? 0), '127.0.0.1', () => {
  const address = server.address();
  reportReady(typeof address === 'object' && address !== null ? address.port : 0);
});

let stopping = false;
function stop(why: string): void {
  if (stopping) return;
  stopping = true;
  log.info({ why }, 'shutting down');
  setTimeout(() => process.exit(1), 3000).unref();
  server.close(() => void stopTelemetry().finally(() => process.exit(0)));
  server.closeIdleConnections();
}
process.once('SIGTERM', () => stop('SIGTERM'));
process.once('SIGINT', () => stop('SIGINT'));
process.once('disconnect', () => stop('parent went away'));
