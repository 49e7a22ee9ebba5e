/**
 * Server process entry: `node server.ts <app> <variant> [config-json]`. Starts OpenTelemetry
 * first when the variant asks for it (so the instrumentation patches the framework), then the
 * app, reports `ready` with its port, and answers `cpu`, `heap` and `stats` over IPC.
 */
import { cpuMicros, failed, heapAfterGc, ready, serveCommands } from '../lib/ipc.ts';
import type { OtelHandle } from './otel.ts';
import type { App, AppConfig } from './types.ts';

const [appName, variant, rawConfig] = process.argv.slice(2);

async function loadApp(name: string): Promise<(variant: string, config: AppConfig) => Promise<App>> {
  switch (name) {
    case 'fastify':
      return (await import('./fastify-app.ts')).startFastify;
    case 'express':
      return (await import('./express-app.ts')).startExpress;
    case 'grpc':
      return (await import('./grpc-app.ts')).startGrpc;
    case 'gateway':
      return (await import('./gateway-app.ts')).startGateway;
    default:
      throw new Error(`unknown app ${name}`);
  }
}

async function main(): Promise<void> {
  if (appName === undefined || variant === undefined) throw new Error('usage: server.ts <app> <variant> [config]');
  const config = (rawConfig === undefined ? {} : JSON.parse(rawConfig)) as AppConfig;
  let otel: OtelHandle | undefined;
  if (variant === 'otel' || variant === 'ctxkit-otel') {
    const { startOtel } = await import('./otel.ts');
    otel = await startOtel(appName === 'grpc' ? 'grpc' : 'http', variant === 'ctxkit-otel');
  }
  const start = await loadApp(appName);
  const app = await start(variant, config);
  serveCommands(
    {
      cpu: () => cpuMicros(),
      heap: () => heapAfterGc(),
      stats: () => ({ spansExported: otel?.spansExported(), ...app.stats?.() }),
    },
    async () => {
      await app.close();
      await otel?.shutdown();
    },
  );
  ready({ port: app.port });
}

main().catch(failed);
