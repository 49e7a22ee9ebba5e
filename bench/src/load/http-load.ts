/**
 * HTTP load generator process: runs autocannon (programmatic API) when the parent asks, and
 * answers with the figures of that run. One process per scenario, reused across runs.
 */
import { createRequire } from 'node:module';
import { cpuMicros, ready, serveCommands } from '../lib/ipc.ts';
import { quantile } from '../lib/stats.ts';

const require = createRequire(import.meta.url);
const autocannon = require('autocannon') as (opts: Record<string, unknown>) => AutocannonInstance;

interface AutocannonInstance extends PromiseLike<AutocannonResult> {
  stop(): void;
  on(event: 'response', listener: (client: unknown, status: number, bytes: number, ms: number) => void): void;
}
interface AutocannonResult {
  requests: { total: number; average: number };
  latency: { p50: number; p99: number; average: number };
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  '2xx': number;
  statusCodeStats: Record<string, { count: number }>;
}

/** What the parent asks for one run. */
export interface HttpRunSpec {
  readonly url: string;
  readonly connections: number;
  /** Requests in flight per connection (HTTP/1.1 pipelining); 1 = none. */
  readonly pipelining?: number | undefined;
  /** Time limit, seconds. */
  readonly durationS: number;
  /** Count limit: the run stops at whichever comes first. */
  readonly maxRequests: number;
  readonly headers: Readonly<Record<string, string>>;
}

/** What one run measured. */
export interface HttpRunResult {
  readonly requests: number;
  readonly durationS: number;
  readonly throughput: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly errors: number;
  readonly non2xx: number;
  readonly statusCodes: Record<string, number>;
  readonly clientCpuUs: number;
}

async function run(spec: HttpRunSpec): Promise<HttpRunResult> {
  const cpu0 = cpuMicros();
  const started = performance.now();
  const instance = autocannon({
    url: spec.url,
    connections: spec.connections,
    pipelining: spec.pipelining ?? 1,
    duration: spec.durationS,
    maxOverallRequests: spec.maxRequests,
    headers: spec.headers,
    timeout: 10,
    // autocannon checks its stop flag once per sample: sample often so short runs end on time.
    sampleInt: 250,
  });
  // autocannon's own histogram keeps whole milliseconds; the response times it emits are
  // fractional, so percentiles come from them.
  const latencies = new Float64Array(spec.maxRequests);
  let n = 0;
  instance.on('response', (_client, _status, _bytes, ms) => {
    if (n < latencies.length) latencies[n++] = ms;
  });
  // Belt and braces: autocannon stops itself at the duration; this bounds a stuck run.
  const guard = setTimeout(() => instance.stop(), (spec.durationS + 15) * 1000);
  const result = await instance;
  clearTimeout(guard);
  const durationS = (performance.now() - started) / 1000;
  const statusCodes: Record<string, number> = {};
  for (const [code, stat] of Object.entries(result.statusCodeStats ?? {})) statusCodes[code] = stat.count;
  const requests = result.requests.total;
  const sorted = latencies.subarray(0, n).sort();
  return {
    requests,
    durationS,
    throughput: requests / result.duration,
    p50Ms: quantile(sorted, 0.5),
    p99Ms: quantile(sorted, 0.99),
    errors: result.errors,
    non2xx: result.non2xx,
    statusCodes,
    clientCpuUs: (cpuMicros() - cpu0) / Math.max(1, requests),
  };
}

serveCommands({ run });
ready();
