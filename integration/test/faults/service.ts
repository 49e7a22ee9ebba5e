/**
 * One service of the fault chain, in its own process: `node --expose-gc service.ts <role> <name> [port]`.
 * Roles: `edge` (Fastify, public), `grpc` (a gRPC hop), `http` (an internal Fastify hop). Logs
 * JSON lines (pino, ctxkit mixin) on stdout; answers `stats` over IPC with its active resources
 * and heap after GC; any unhandled rejection or exception is logged as fatal and exits 70.
 */
import { pinoMixin } from '@ctxkit/core';
import pino from 'pino';
import { type Hop, startFastifyHop, startGrpcHop } from '../conformance/support/hops.ts';

const [role, name, portArg] = process.argv.slice(2);
const log = pino({ mixin: pinoMixin(), base: { svc: name } }, pino.destination({ sync: true }));

function fatal(kind: string) {
  return (error: unknown) => {
    log.fatal({ err: error }, kind);
    process.exit(70);
  };
}
process.on('unhandledRejection', fatal('unhandledRejection'));
process.on('uncaughtException', fatal('uncaughtException'));

let hop: Hop;
if (role === 'grpc') {
  // A low stream limit: bursts queue on the HTTP/2 connection instead of all running at once.
  hop = await startGrpcHop(name!, { log, port: Number(portArg ?? 0), channelOptions: {} });
} else if (role === 'http') {
  hop = await startFastifyHop(name!, { trust: 'internal', log, fastify: { disableRequestLogging: true } });
} else {
  const edge = await startFastifyHop(name!, { log, defaultTimeoutMs: 5000, maxTimeoutMs: 10_000, fastify: { disableRequestLogging: true } });
  // The burst limit: connections past it are closed by Node at once (a clean refusal).
  edge.app.server.maxConnections = 64;
  hop = edge;
}

process.on('message', (m: { type: string; id?: number }) => {
  if (m.type === 'stats') {
    (globalThis as { gc?: () => void }).gc?.();
    const counts: Record<string, number> = {};
    for (const r of process.getActiveResourcesInfo()) counts[r] = (counts[r] ?? 0) + 1;
    process.send!({ type: 'stats', id: m.id, counts, heapUsed: process.memoryUsage().heapUsed });
  } else if (m.type === 'stop') {
    void hop.close().then(() => process.exit(0));
  }
});
process.send!({ type: 'ready', port: hop.port, target: hop.target });
