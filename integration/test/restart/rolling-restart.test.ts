/**
 * Shutdown as cancellation, proved by a rolling restart under load: two replicas of a gRPC
 * service in their own processes, one client with ctxkit's retry policy over both (grpc-js
 * round_robin), a bounded load generator, each replica restarted in turn (SIGTERM: drain, cancel
 * what is left as UNAVAILABLE, exit). No call may fail, and every stopped replica must report,
 * before it exits, that none of its handlers is still running.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { createContext, runWithContext } from '@ctxkit/core';
import { clientInterceptor } from '@ctxkit/grpc';
import * as grpc from '@grpc/grpc-js';
import { afterAll, describe, expect, it } from 'vitest';
import { LONG_MS, type Reply, type Work, WorkService } from './work.ts';

const SCRIPT = fileURLToPath(new URL('./replica.ts', import.meta.url));
/** Bounds of the load, not expectations. */
const WORKERS = 8;
const MAX_CALLS = 20_000;
const MAX_LOAD_MS = 90_000;

interface Stopped {
  readonly drain: { inFlight: number; finished: number; cancelled: number; left: number; durationMs: number };
  readonly started: number;
  readonly ended: number;
  readonly running: number;
}

class Replica {
  child: ChildProcess | undefined = undefined;
  port = 0;
  pid = 0;
  /** Handlers longer than the drain budget running in this process now, and when the last began. */
  long = 0;
  lastLongAt = 0;
  constructor(readonly name: string) {}

  async start(port = 0): Promise<void> {
    const child = fork(SCRIPT, [this.name, String(port)], { execPath: process.execPath, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child = child;
    this.long = 0;
    child.on('message', (m: { type: string; running?: number; at?: number }) => {
      if (m.type !== 'long') return;
      this.long += m.running!;
      if (m.at !== undefined) this.lastLongAt = m.at;
    });
    // A bound, not an expectation: a loaded machine needs seconds to start Node.
    const [msg] = (await once(child, 'message', { signal: AbortSignal.timeout(60_000) })) as [{ port: number; pid: number }];
    this.port = msg.port;
    this.pid = msg.pid;
  }

  /** SIGTERM, then the replica's own report, then its exit. */
  async stop(): Promise<Stopped> {
    const child = this.child!;
    const stopped = new Promise<Stopped>((resolve) => {
      child.on('message', (m: { type: string } & Stopped) => {
        if (m.type === 'stopped') resolve(m);
      });
    });
    const exited = once(child, 'exit', { signal: AbortSignal.timeout(30_000) });
    child.kill('SIGTERM');
    const [report] = await Promise.all([stopped, exited]);
    return report;
  }

  kill(): void {
    if (this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

async function until(what: string, condition: () => boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const replicas = [new Replica('r1'), new Replica('r2')];
afterAll(() => {
  for (const r of replicas) r.kill();
});

describe('rolling restart under load', () => {
  it('restarts both replicas in turn with no failed call and no work left running', async () => {
    await Promise.all(replicas.map((r) => r.start()));
    const client = new grpc.Client(`ipv4:${replicas.map((r) => `127.0.0.1:${r.port}`).join(',')}`, grpc.credentials.createInsecure(), {
      'grpc.service_config': JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] }),
      // A restarted replica is back in the rotation quickly (the default waits a second first).
      'grpc.initial_reconnect_backoff_ms': 50,
      'grpc.max_reconnect_backoff_ms': 200,
      interceptors: [clientInterceptor({ retry: { maxAttempts: 5, initialBackoffMs: 10, maxBackoffMs: 100 } })],
    });
    const { path, requestSerialize, responseDeserialize } = WorkService.work;
    const work = (req: Work) =>
      new Promise<Reply>((resolve, reject) =>
        client.makeUnaryRequest(path, requestSerialize, responseDeserialize, req, (e, r) => (e ? reject(e) : resolve(r!))),
      );

    const stats = { calls: 0, ok: 0, retried: 0, slow: 0, errors: [] as string[], byPid: new Map<number, number>() };
    let loading = true;
    const begin = Date.now();
    async function worker(): Promise<void> {
      while (loading && stats.calls < MAX_CALLS && Date.now() - begin < MAX_LOAD_MS) {
        const n = ++stats.calls;
        // One call in 16 outlasts the drain budget: it is cancelled and retried on the other replica.
        // Drawn at random: a fixed period would meet round_robin's alternation and hit one replica only.
        const slow = Math.random() < 1 / 16;
        if (slow) stats.slow++;
        // Room for long work cancelled twice (once per restart) and done a third time.
        const ctx = createContext({ timeoutMs: 10_000 });
        try {
          const reply = await runWithContext(ctx, () => work({ ms: slow ? LONG_MS : 5 + (n % 7) * 5 }));
          stats.ok++;
          if (reply.attempt > 0) stats.retried++;
          stats.byPid.set(reply.pid, (stats.byPid.get(reply.pid) ?? 0) + 1);
        } catch (error) {
          const e = error as grpc.ServiceError;
          stats.errors.push(`${e.code} ${e.details}`);
        } finally {
          ctx.end();
        }
      }
    }
    const workers = Array.from({ length: WORKERS }, () => worker());
    const reports: Stopped[] = [];
    try {
      await until('warm-up load on both replicas', () => replicas.every((r) => (stats.byPid.get(r.pid) ?? 0) >= 50));
      for (const replica of replicas) {
        // Stopped while it runs work the drain budget cannot cover: that work is cancelled.
        // (begun under 300 ms ago, so it still has over a second to run: the drain cannot cover it).
        await until(`long work on ${replica.name}`, () => replica.long > 0 && Date.now() - replica.lastLongAt < 300);
        reports.push(await replica.stop());
        await replica.start(replica.port);
        // The new process is back in the rotation and serving.
        await until(`${replica.name} serving again`, () => (stats.byPid.get(replica.pid) ?? 0) >= 50);
      }
    } finally {
      loading = false;
      await Promise.all(workers);
      client.close();
    }
    const figures = {
      calls: stats.calls,
      ok: stats.ok,
      errors: stats.errors.length,
      retriedCallsServed: stats.retried,
      slowCalls: stats.slow,
      restarts: reports.length,
      durationMs: Date.now() - begin,
      drains: reports.map((r) => ({ ...r.drain, handlersStarted: r.started, handlersRunningAtExit: r.running })),
    };
    console.log(`rolling restart: ${JSON.stringify(figures)}`);

    expect(stats.errors).toEqual([]);
    expect(stats.ok).toBe(stats.calls);
    expect(reports).toHaveLength(2);
    for (const report of reports) {
      // Nothing orphaned: every handler of the stopped process ended (finished or cancelled) before it exited.
      expect(report.running).toBe(0);
      expect(report.drain.left).toBe(0);
      expect(report.drain.cancelled).toBeGreaterThanOrEqual(1);
    }
    // The cancelled calls came back as UNAVAILABLE and were retried on the other replica.
    expect(stats.retried).toBeGreaterThanOrEqual(2);
  });
});
