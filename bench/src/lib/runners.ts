import type { GrpcRunResult, GrpcRunSpec } from '../load/grpc-load.ts';
import type { HttpRunResult, HttpRunSpec } from '../load/http-load.ts';
import { type Child, stopAll } from './children.ts';
import type { RunFigures, Running } from './rounds.ts';

/** Total CPU time of the given server processes so far, µs. */
export async function serversCpu(servers: readonly Child[]): Promise<number> {
  const all = await Promise.all(servers.map((s) => s.request<number>('cpu')));
  return all.reduce((a, b) => a + b, 0);
}

/** The `stats` of every server, keyed by child name. */
async function serversStats(servers: readonly Child[]): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const s of servers) {
    const stats = await s.request<Record<string, unknown>>('stats');
    const kept = Object.fromEntries(Object.entries(stats).filter(([, v]) => v !== undefined));
    if (Object.keys(kept).length > 0) out[s.name] = kept;
  }
  return out;
}

/** The fixed part of an HTTP run. */
export type HttpTarget = Omit<HttpRunSpec, 'durationS' | 'maxRequests'>;

/**
 * A running HTTP variant: `servers` (the first one receives the load) driven by the shared
 * autocannon process `loader`; server CPU is measured around each run.
 */
export function httpRunning(servers: readonly Child[], loader: Child, target: HttpTarget): Running {
  return {
    async run(durationS, maxRequests): Promise<RunFigures> {
      const cpu0 = await serversCpu(servers);
      const r = await loader.request<HttpRunResult>('run', { ...target, durationS, maxRequests }, (durationS + 30) * 1000);
      const cpu1 = await serversCpu(servers);
      const codes = Object.entries(r.statusCodes)
        .filter(([code]) => !code.startsWith('2'))
        .map(([code, n]) => `${n}× ${code}`);
      return {
        requests: r.requests,
        throughput: r.throughput,
        p50Ms: r.p50Ms,
        p99Ms: r.p99Ms,
        cpuUs: (cpu1 - cpu0) / Math.max(1, r.requests),
        clientCpuUs: r.clientCpuUs,
        errors: r.errors,
        non2xx: r.non2xx,
        errorSample: codes.length > 0 ? `status ${codes.join(', ')}` : undefined,
      };
    },
    stats: () => serversStats(servers),
    stop: () => stopAll(servers),
  };
}

/** The fixed part of a gRPC run. */
export type GrpcTarget = Omit<GrpcRunSpec, 'durationS' | 'maxCalls'>;

/** A running gRPC variant: `servers` driven by this variant's own load generator `loader`. */
export function grpcRunning(servers: readonly Child[], loader: Child, target: GrpcTarget): Running {
  return {
    async run(durationS, maxRequests): Promise<RunFigures> {
      const cpu0 = await serversCpu(servers);
      const r = await loader.request<GrpcRunResult>('run', { ...target, durationS, maxCalls: maxRequests }, (durationS + 30) * 1000);
      const cpu1 = await serversCpu(servers);
      return {
        requests: r.requests,
        throughput: r.throughput,
        p50Ms: r.p50Ms,
        p99Ms: r.p99Ms,
        cpuUs: (cpu1 - cpu0) / Math.max(1, r.requests),
        clientCpuUs: r.clientCpuUs,
        errors: r.errors,
        non2xx: 0,
        errorSample: r.errorSample,
      };
    },
    async stats() {
      return { ...(await serversStats(servers)), ...(await serversStats([loader])) };
    },
    stop: () => stopAll([loader, ...servers]),
  };
}
