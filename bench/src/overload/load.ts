/**
 * Overload scenario, load generator process: an open loop (arrivals at a fixed rate, whether or
 * not earlier requests were answered, as users arrive) against `GET /work`. Every client announces
 * its deadline (`request-timeout-ms`) and hangs up when it passes; a share of them give up
 * earlier, at a random moment, without saying so (a closed tab). An answer counts as goodput only
 * if it is a 200 that arrived before its client stopped waiting.
 */
import { Agent, request } from 'node:http';
import * as grpc from '@grpc/grpc-js';
import { cpuMicros, failed, ready, serveCommands } from '../lib/ipc.ts';
import { deserializeJson, serializeJson, WORK_METHOD } from './wire.ts';

/** What one load run is asked to do. */
export interface LoadPlan {
  /** HTTP `GET /work`, or the gRPC method with a call deadline (quitters cancel the call). */
  readonly transport: 'http' | 'grpc';
  readonly port: number;
  readonly ratePerS: number;
  readonly durationMs: number;
  readonly deadlineMs: number;
  /** The share of clients that give up early (0.3). */
  readonly quitShare: number;
  readonly quitMinMs: number;
  readonly quitMaxMs: number;
  /** Seed of the pseudo-random quitters, so that both variants meet the same clients. */
  readonly seed: number;
}

/** What one load run saw. */
export interface LoadResult {
  readonly sent: number;
  /** 200s that arrived before their client stopped waiting. */
  readonly goodput: number;
  readonly late: number;
  /** HTTP 504 or gRPC DEADLINE_EXCEEDED from the server, before the client stopped waiting. */
  readonly refused504: number;
  readonly otherStatus: number;
  readonly errors: number;
  /** Clients that hung up: at their deadline, or earlier (quitters). */
  readonly hungUpAtDeadline: number;
  readonly quit: number;
  /** Median and p99 latency of the goodput answers, ms. */
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Median latency of the 504s, ms (an early refusal is fast). */
  readonly p50RefusedMs: number;
  readonly cpuMicros: number;
  readonly elapsedMs: number;
}

/** A small deterministic generator (mulberry32). */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

async function run(plan: LoadPlan): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: 2_000 });
  // One channel, as a gRPC client keeps (HTTP/2 multiplexes every call on it).
  const client = plan.transport === 'grpc' ? new grpc.Client(`127.0.0.1:${plan.port}`, grpc.credentials.createInsecure()) : undefined;
  const rand = random(plan.seed);
  const cpu0 = cpuMicros();
  const t0 = performance.now();
  const counts = { sent: 0, goodput: 0, late: 0, refused504: 0, otherStatus: 0, errors: 0, hungUpAtDeadline: 0, quit: 0 };
  const good: number[] = [];
  const refused: number[] = [];
  let open = 0;
  let allSent = false;
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const settle = () => {
    open--;
    if (allSent && open === 0) finish();
  };

  const oneGrpc = (c: grpc.Client) => {
    const quits = rand() < plan.quitShare;
    const waitMs = quits ? plan.quitMinMs + rand() * (plan.quitMaxMs - plan.quitMinMs) : plan.deadlineMs;
    const start = performance.now();
    counts.sent++;
    open++;
    let done = false;
    const call = c.makeUnaryRequest(
      WORK_METHOD,
      serializeJson,
      deserializeJson,
      {},
      new grpc.Metadata(),
      { deadline: Date.now() + plan.deadlineMs },
      (error) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        const ms = performance.now() - start;
        if (error === null) {
          if (ms <= waitMs) {
            counts.goodput++;
            good.push(ms);
          } else counts.late++;
        } else if (error.code === grpc.status.DEADLINE_EXCEEDED && ms < plan.deadlineMs - 1) {
          counts.refused504++; // the server's answer, before the client's own deadline
          refused.push(ms);
        } else if (error.code === grpc.status.DEADLINE_EXCEEDED) counts.hungUpAtDeadline++;
        else counts.otherStatus++;
        settle();
      },
    );
    // A quitter cancels its call (RST_STREAM); the others end at their deadline, by grpc-js.
    const timer = quits
      ? setTimeout(() => {
          if (done) return;
          done = true;
          counts.quit++;
          call.cancel();
          settle();
        }, waitMs)
      : undefined;
  };

  const one = () => {
    if (client !== undefined) {
      oneGrpc(client);
      return;
    }
    const quits = rand() < plan.quitShare;
    const waitMs = quits ? plan.quitMinMs + rand() * (plan.quitMaxMs - plan.quitMinMs) : plan.deadlineMs;
    const start = performance.now();
    counts.sent++;
    open++;
    let done = false;
    const req = request(
      { host: '127.0.0.1', port: plan.port, path: '/work', agent, headers: { 'request-timeout-ms': String(plan.deadlineMs) } },
      (res) => {
        res.resume();
        res.on('end', () => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          const ms = performance.now() - start;
          if (res.statusCode === 200) {
            if (ms <= waitMs) {
              counts.goodput++;
              good.push(ms);
            } else counts.late++;
          } else if (res.statusCode === 504) {
            counts.refused504++;
            refused.push(ms);
          } else counts.otherStatus++;
          settle();
        });
      },
    );
    const timer = setTimeout(() => {
      if (done) return;
      done = true;
      if (quits) counts.quit++;
      else counts.hungUpAtDeadline++;
      req.destroy(); // the client goes away: its socket closes
      settle();
    }, waitMs);
    req.on('error', () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      counts.errors++;
      settle();
    });
    req.end();
  };

  // Arrivals every 2 ms, as many as the rate asks for by then (no catching up past the run).
  const total = Math.round((plan.ratePerS * plan.durationMs) / 1000);
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const due = Math.min(total, Math.floor(((performance.now() - t0) * plan.ratePerS) / 1000));
      while (counts.sent < due) one();
      if (counts.sent >= total) {
        clearInterval(tick);
        resolve();
      }
    }, 2);
  });
  allSent = true;
  if (open > 0) await finished;
  agent.destroy();
  client?.close();
  good.sort((a, b) => a - b);
  refused.sort((a, b) => a - b);
  return {
    ...counts,
    p50Ms: percentile(good, 0.5),
    p99Ms: percentile(good, 0.99),
    p50RefusedMs: percentile(refused, 0.5),
    cpuMicros: cpuMicros() - cpu0,
    elapsedMs: performance.now() - t0,
  };
}

serveCommands({ run: (plan: LoadPlan) => run(plan) });
try {
  ready();
} catch (error) {
  failed(error);
}
