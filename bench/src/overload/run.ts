/**
 * The overload scenario (issue 21): a Fastify (and a gRPC) service in front of a downstream of fixed capacity,
 * pushed past that capacity by an open loop of clients of which 30 % give up early, with and
 * without ctxkit, in the same run, alternating, in repeated rounds. Reports goodput (200s that
 * arrived before their client stopped waiting) per second, CPU, the work left running for nobody
 * once every client is gone, and how fast a request below a route's `minBudgetMs` is refused.
 *
 *   npm run bench:overload                 # 3 rounds × (HTTP, gRPC) × 2 variants × 5 s, ~3 min → results/overload.md
 *   npm run bench:overload -- --quick      # 1 round × 2 s, a smoke run → results/tmp/overload-quick.md
 *   npm run bench:overload -- --only http  # one transport
 *
 * Every process is its own (downstream, service, load generator); only 127.0.0.1. Every run is
 * bounded: a fixed number of arrivals, each client waiting at most its deadline, a watchdog.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { type Child, killAll, startChild, stopAll } from '../lib/children.ts';
import type { LoadPlan, LoadResult } from './load.ts';

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const only = argv.includes('--only') ? argv[argv.indexOf('--only') + 1] : undefined;
type Transport = 'http' | 'grpc';
const TRANSPORTS: Transport[] = only === 'http' || only === 'grpc' ? [only] : ['http', 'grpc'];
const flag = (name: string, fallback: number): number => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : fallback;
};

const config = {
  rounds: flag('rounds', quick ? 1 : 3),
  durationMs: flag('duration', quick ? 2_000 : 5_000),
  // Small figures on purpose: the limit must be the downstream's slots, not the CPU of a
  // shared 2-core machine (the processes' own CPU is reported beside the goodput).
  slots: flag('slots', 2),
  queryMs: flag('query-ms', 50),
  deadlineMs: flag('deadline', 500),
  quitShare: 0.3,
  quitMinMs: 20,
  quitMaxMs: 200,
  /** Offered load as a multiple of the downstream's capacity (slots / queryMs). */
  overload: flag('overload', 2),
};
const capacityPerS = (config.slots * 1000) / config.queryMs;
const ratePerS = Math.round(capacityPerS * config.overload);
const VARIANTS = {
  'http bare': 'service: Fastify + the global fetch; downstream: Fastify, a waiter or query stops when its caller hangs up (request.signal)',
  'http ctxkit':
    'service: @ctxkit/fastify (route minBudgetMs = query time) + ctxFetch; downstream: @ctxkit/fastify (trust internal, ' +
    'route minBudgetMs = query time), a waiter or query stops when its context aborts, a query that cannot finish in the budget left is not begun',
  'grpc bare': 'service: grpc-js + the global fetch (the client sets a call deadline; quitters cancel the call); downstream as http bare',
  'grpc ctxkit': 'service: serverInterceptor + wrapService (minBudgetMs = query time) + ctxFetch; downstream as http ctxkit',
} as const;
type Variant = 'bare' | 'ctxkit';

// Whatever happens, no child outlives the run.
const watchdog = setTimeout(() => {
  console.error('overload: watchdog fired (6 min), killing every child');
  killAll();
  process.exit(2);
}, 6 * 60_000);
watchdog.unref();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killAll();
    process.exit(130);
  });
}

interface Round {
  readonly transport: Transport;
  readonly variant: Variant;
  readonly round: number;
  readonly load: LoadResult;
  readonly serviceCpuMs: number;
  readonly downstreamCpuMs: number;
  readonly service: Record<string, number>;
  readonly downstream: Record<string, number>;
  /** Downstream work still queued or running when the last client had gone. */
  readonly orphansAtEnd: number;
  /** How long that work took to go, ms (`undefined`: still there after 2 s). */
  readonly orphansGoneMs: number | undefined;
}

async function startPair(variant: Variant, transport: Transport = 'http'): Promise<{ downstream: Child; service: Child }> {
  const downstream = await startChild(`downstream-${variant}`, 'overload/servers.ts', [
    'downstream',
    variant,
    String(config.slots),
    String(config.queryMs),
  ]);
  const service = await startChild(`service-${transport}-${variant}`, 'overload/servers.ts', [
    transport === 'http' ? 'service' : 'grpc-service',
    variant,
    String(downstream.info.port),
    String(config.queryMs),
  ]);
  return { downstream, service };
}

async function oneRound(load: Child, transport: Transport, variant: Variant, round: number): Promise<Round> {
  const { downstream, service } = await startPair(variant, transport);
  try {
    const port = service.info.port as number;
    // Warm-up at half the capacity, nobody quitting: the JIT's first work is not the variant's CPU.
    const warm: LoadPlan = {
      transport,
      port,
      ratePerS: capacityPerS / 2,
      durationMs: 1_500,
      deadlineMs: 5_000,
      quitShare: 0,
      quitMinMs: 0,
      quitMaxMs: 0,
      seed: 1,
    };
    await load.request<LoadResult>('run', warm, 60_000);
    const plan: LoadPlan = {
      transport,
      port,
      ratePerS,
      durationMs: config.durationMs,
      deadlineMs: config.deadlineMs,
      quitShare: config.quitShare,
      quitMinMs: config.quitMinMs,
      quitMaxMs: config.quitMaxMs,
      seed: 21 + round,
    };
    const [s0, d0] = await Promise.all([service.request<number>('cpu'), downstream.request<number>('cpu')]);
    const result = await load.request<LoadResult>('run', plan, config.durationMs + 60_000);
    const [s1, d1] = await Promise.all([service.request<number>('cpu'), downstream.request<number>('cpu')]);
    const pending = async () => {
      const s = await downstream.request<Record<string, number>>('stats');
      return (s.queued ?? 0) + (s.inFlight ?? 0);
    };
    const orphansAtEnd = await pending();
    const t0 = performance.now();
    let orphansGoneMs: number | undefined = orphansAtEnd === 0 ? 0 : undefined;
    while (orphansGoneMs === undefined && performance.now() - t0 < 2_000) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      if ((await pending()) === 0) orphansGoneMs = performance.now() - t0;
    }
    return {
      transport,
      variant,
      round,
      load: result,
      serviceCpuMs: (s1 - s0) / 1000,
      downstreamCpuMs: (d1 - d0) / 1000,
      service: await service.request('stats'),
      downstream: await downstream.request('stats'),
      orphansAtEnd,
      orphansGoneMs,
    };
  } finally {
    await stopAll([service, downstream]);
  }
}

/** One request on its own connection; resolves with its status and client-side latency. */
function timedGet(port: number, headers: Record<string, string>, path = '/work'): Promise<{ status: number; ms: number }> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const req = request({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode!, ms: performance.now() - start }));
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * How fast a request below the route's `minBudgetMs` is refused, on an idle service: Fastify's
 * own `reply.elapsedTime` (from the request's start to the 504 written, server side) and the
 * client's round trip on loopback, over 500 sequential requests.
 */
interface RefusalFigures {
  /** core's check alone, in this process: ns per admitted and per refused request. */
  readonly checkAdmitNs: number;
  readonly checkRefuseNs: number;
  readonly n: number;
  readonly serverP50Us: number;
  readonly serverP99Us: number;
  readonly pingP50Us: number;
  readonly pingP99Us: number;
  readonly clientP50Ms: number;
  readonly downstreamQueries: number;
}

async function refusalLatency(): Promise<RefusalFigures> {
  const { downstream, service } = await startPair('ctxkit');
  try {
    const port = service.info.port as number;
    const client: number[] = [];
    // Interleaved with a trivial route's answers, the baseline of the same process and moment.
    for (let i = 0; i < 500; i++) {
      const { status, ms } = await timedGet(port, { 'request-timeout-ms': String(Math.floor(config.queryMs / 2)) });
      if (status !== 504) throw new Error(`refusal probe: expected 504, got ${status}`);
      client.push(ms);
      if ((await timedGet(port, {}, '/ping')).status !== 200) throw new Error('refusal probe: /ping failed');
    }
    const stats = await service.request<Record<string, number>>('stats');
    const down = await downstream.request<Record<string, number>>('stats');
    const { refusalUs, pingUs } = await service.request<{ refusalUs: number[]; pingUs: number[] }>('refusals');
    const at = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * p)] ?? 0;
    if (stats.refused !== 500 || stats.requests !== 0) throw new Error(`refusal probe: ${JSON.stringify(stats)}`);
    return {
      ...(await checkCost()),
      n: refusalUs.length,
      serverP50Us: at(refusalUs, 0.5),
      serverP99Us: at(refusalUs, 0.99),
      pingP50Us: at(pingUs, 0.5),
      pingP99Us: at(pingUs, 0.99),
      clientP50Ms: at(client, 0.5),
      downstreamQueries: down.queries ?? 0,
    };
  } finally {
    await stopAll([service, downstream]);
  }
}

/** The admission check itself (core's `compileAdmission`), timed in a loop in this process. */
async function checkCost(): Promise<{ checkAdmitNs: number; checkRefuseNs: number }> {
  const { createContext } = await import('@ctxkit/core');
  const { compileAdmission } = await import('@ctxkit/core/adapter');
  const { refusedRequests } = await import('@ctxkit/core/diagnostics');
  const admit = compileAdmission(config.queryMs, 'GET /work');
  const roomy = createContext({ timeoutMs: 60_000 });
  const short = createContext({ timeoutMs: Math.floor(config.queryMs / 2) });
  const time = (ctx: typeof roomy, n: number) => {
    for (let i = 0; i < 10_000; i++) admit(ctx, 'GET /work', undefined); // warm-up
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) admit(ctx, 'GET /work', undefined);
    return Number(process.hrtime.bigint() - t0) / n;
  };
  const figures = { checkAdmitNs: time(roomy, 1_000_000), checkRefuseNs: time(short, 200_000) };
  roomy.end();
  short.end();
  refusedRequests(true);
  return figures;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s.length === 0 ? 0 : s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

const f0 = (n: number) => n.toFixed(0);
const f1 = (n: number) => n.toFixed(1);

function report(rounds: Round[], refusal: RefusalFigures, wallMs: number): string {
  const secs = config.durationMs / 1000;
  // Per second of the run: from the first arrival to the last client settled (answers go on
  // arriving up to one deadline after the last request was sent).
  const perS = (r: Round) => r.load.elapsedMs / 1000;
  const lines: string[] = [];
  lines.push('# Overload: goodput with and without ctxkit');
  lines.push('');
  lines.push(`Command: \`npm run bench:overload${quick ? ' -- --quick' : ''}\` (${(wallMs / 1000).toFixed(0)} s). Node ${process.version}, ${new Date().toISOString()}.`);
  lines.push('');
  lines.push(
    `A downstream of ${config.slots} slots × ${config.queryMs} ms (capacity ${f0(capacityPerS)} answers/s) behind a Fastify service and, in its own rounds, a gRPC one; ` +
      `an open loop of ${ratePerS} requests/s (${config.overload}× capacity) for ${secs} s per round, ${config.rounds} round(s), variants alternating. ` +
      `Every client announces and keeps a ${config.deadlineMs} ms deadline (HTTP \`request-timeout-ms\`, gRPC the call deadline); ` +
      `${config.quitShare * 100} % give up earlier without saying so, between ${config.quitMinMs} and ${config.quitMaxMs} ms. ` +
      'Goodput: 200s that arrived before their client stopped waiting, per second of the run (first arrival to last client settled). ' +
        'CPU: the service and downstream processes, over the same time.',
  );
  lines.push('');
  lines.push('| transport | variant | round | goodput /s | of capacity | late 200s | 504s | clients hung up (deadline / quit) | p50 / p99 good, ms | CPU ms/s (service + downstream) | CPU µs per good answer | downstream queries started / completed | work left for nobody at the end | gone after |');
  lines.push('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of rounds) {
    const cpu = r.serviceCpuMs + r.downstreamCpuMs;
    lines.push(
      `| ${r.transport} | ${r.variant} | ${r.round} | ${f0(r.load.goodput / perS(r))} | ${f0((100 * r.load.goodput) / perS(r) / capacityPerS)} % | ${r.load.late} | ${r.load.refused504} | ${r.load.hungUpAtDeadline} / ${r.load.quit} | ` +
        `${f0(r.load.p50Ms)} / ${f0(r.load.p99Ms)} | ${f0(r.serviceCpuMs / perS(r))} + ${f0(r.downstreamCpuMs / perS(r))} | ${r.load.goodput === 0 ? '—' : f0((cpu * 1000) / r.load.goodput)} | ` +
        `${r.downstream.queries} / ${r.downstream.completed} | ${r.orphansAtEnd} | ${r.orphansGoneMs === undefined ? 'still there at 2 s' : `${f0(r.orphansGoneMs)} ms`} |`,
    );
  }
  lines.push('');
  for (const t of [...new Set(rounds.map((r) => r.transport))]) {
    const of = rounds.filter((r) => r.transport === t);
    const by = (v: Variant, pick: (r: Round) => number) => median(of.filter((r) => r.variant === v).map(pick));
    const ratios = of
      .filter((r) => r.variant === 'ctxkit')
      .map((r) => {
        const bare = of.find((b) => b.variant === 'bare' && b.round === r.round);
        return bare === undefined || bare.load.goodput === 0 ? Number.POSITIVE_INFINITY : r.load.goodput / bare.load.goodput;
      });
    lines.push(
      `${t === 'http' ? 'HTTP (Fastify)' : 'gRPC'}, medians over the rounds: goodput **${f0(by('ctxkit', (r) => r.load.goodput / perS(r)))}/s with ctxkit ` +
        `vs ${f0(by('bare', (r) => r.load.goodput / perS(r)))}/s without** ` +
        `(per-round ratio ${ratios.map((x) => (Number.isFinite(x) ? `${f1(x)}×` : '∞')).join(', ')}); ` +
        `work left for nobody once every client had gone: ${f0(by('ctxkit', (r) => r.orphansAtEnd))} vs ${f0(by('bare', (r) => r.orphansAtEnd))} downstream queries; ` +
        `requests refused before their handler ran (ctxkit): ${f0(by('ctxkit', (r) => r.service.refused ?? 0))} a round at the service, ` +
        `${f0(by('ctxkit', (r) => (r.downstream.tooLate ?? 0) + (r.downstream.leftQueue ?? 0)))} queries dropped at the downstream before they began.`,
    );
    lines.push('');
  }
  lines.push(
    `Refusal below \`minBudgetMs\` (idle ctxkit service, ${refusal.n} sequential requests with a ${Math.floor(config.queryMs / 2)} ms budget on a ${config.queryMs} ms route): ` +
      `server side (Fastify \`reply.elapsedTime\`, request start → 504 written) p50 ${f0(refusal.serverP50Us)} µs, p99 ${f0(refusal.serverP99Us)} µs ` +
      `(a trivial \`/ping\` route of the same process, interleaved: p50 ${f0(refusal.pingP50Us)} µs, p99 ${f0(refusal.pingP99Us)} µs); ` +
      `client round trip on loopback, new connection each, p50 ${f1(refusal.clientP50Ms)} ms; handler never ran, downstream queries ${refusal.downstreamQueries}. ` +
      `core's check alone: ${f0(refusal.checkAdmitNs)} ns a request admitted, ${f0(refusal.checkRefuseNs)} ns a request refused (counted, a DeadlineExceededError built).`,
  );
  lines.push('');
  for (const [v, what] of Object.entries(VARIANTS)) lines.push(`- \`${v}\`: ${what}`);
  return `${lines.join('\n')}\n`;
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const load = await startChild('load', 'overload/load.ts', []);
  const rounds: Round[] = [];
  try {
    for (let round = 1; round <= config.rounds; round++) {
      // Alternate which variant goes first, so neither always meets a warmer machine.
      const order: Variant[] = round % 2 === 1 ? ['bare', 'ctxkit'] : ['ctxkit', 'bare'];
      for (const transport of TRANSPORTS) {
        for (const variant of order) {
          const r = await oneRound(load, transport, variant, round);
          rounds.push(r);
          console.error(`round ${round} ${transport} ${variant}: goodput ${f0(r.load.goodput / (r.load.elapsedMs / 1000))}/s, left for nobody ${r.orphansAtEnd}`);
        }
      }
    }
    const refusal = await refusalLatency();
    const md = report(rounds, refusal, performance.now() - t0);
    const dir = fileURLToPath(new URL(quick ? '../../results/tmp/' : '../../results/', import.meta.url));
    mkdirSync(dir, { recursive: true });
    const name = quick ? 'overload-quick' : 'overload';
    writeFileSync(`${dir}${name}.md`, md);
    writeFileSync(`${dir}${name}.json`, `${JSON.stringify({ config, ratePerS, rounds, refusal }, null, 2)}\n`);
    process.stdout.write(md);
  } finally {
    await stopAll([load]);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  killAll();
  process.exit(1);
});
