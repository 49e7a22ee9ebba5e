/**
 * gRPC load generator process: `node grpc-load.ts <variant>`. Keeps N calls in flight against a
 * target until a count or a time limit, and reports calls/s, p50/p99 and its own CPU per call.
 * One process per client variant: `otel` starts the SDK before grpc-js loads; `ctxkit` installs
 * the client interceptor and makes each call inside a context (one per in-flight slot, with
 * trace id, request id and user id, as a service handling a request would).
 */
import { randomUUID } from 'node:crypto';
import type * as GrpcJs from '@grpc/grpc-js';
import { type EchoClient, type EchoRequest, loadEcho, loadGrpc } from '../lib/grpc.ts';
import { cpuMicros, failed, ready, serveCommands } from '../lib/ipc.ts';
import { quantile } from '../lib/stats.ts';

const variant = process.argv[2] ?? 'bare';

/** What the parent asks for one run. */
export interface GrpcRunSpec {
  readonly target: string;
  readonly method: 'unary' | 'stream';
  readonly inflight: number;
  readonly durationS: number;
  readonly maxCalls: number;
  /** Messages per server-streaming call. */
  readonly streamCount: number;
}

/** What one run measured. */
export interface GrpcRunResult {
  readonly requests: number;
  readonly durationS: number;
  readonly throughput: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly errors: number;
  readonly errorSample: string | undefined;
  readonly clientCpuUs: number;
}

/** The budget of every ctxkit and by-hand call (the "5 s deadline"). */
const BUDGET_MS = 5000;

type RunInContext = <R>(slot: number, fn: () => R) => R;

/**
 * A trace id and a request id of their own for each by-hand call, as every request has (ctxkit's
 * contexts get theirs from core): constant ids would ride HTTP/2's header compression as one
 * byte each after the first call, a wire no real traffic has.
 */
function freshIds(): { traceId: string; requestId: string } {
  return { traceId: randomUUID().replaceAll('-', ''), requestId: randomUUID().replaceAll('-', '').slice(0, 16) };
}

async function main(): Promise<void> {
  const ctxkit = variant === 'ctxkit' || variant === 'ctxkit-otel';
  let otel: import('../servers/otel.ts').OtelHandle | undefined;
  if (variant === 'otel' || variant === 'ctxkit-otel') {
    const { startOtel } = await import('../servers/otel.ts');
    otel = await startOtel('grpc', ctxkit);
  }
  const grpc = loadGrpc();
  const { Client } = loadEcho(grpc);
  let options: GrpcJs.ClientOptions = {};
  let inContext: RunInContext = (_slot, fn) => fn();
  // The manual variant sends what ctxkit sends (three ids and a 5 s deadline), written by hand
  // on every call; ctxkit's calls each run in a context of their own with a 5 s budget.
  const callOptions: () => GrpcJs.CallOptions = variant === 'manual' ? () => ({ deadline: Date.now() + BUDGET_MS }) : () => ({});
  const metadata =
    variant === 'manual'
      ? () => {
          const md = new grpc.Metadata();
          const ids = freshIds();
          md.set('trace-id', ids.traceId);
          md.set('request-id', ids.requestId);
          md.set('user-id', 'u-42');
          return md;
        }
      : () => new grpc.Metadata();
  if (variant === 'by-hand') {
    // The baseline: ids and deadline in a store of one's own, written by an interceptor.
    const hand = await import('../servers/by-hand-grpc.ts');
    options = hand.byHandClientOptions(grpc);
    inContext = (_slot, fn) => hand.handStorage.run({ ...freshIds(), userId: 'u-42', deadline: Date.now() + BUDGET_MS }, fn);
  }
  if (ctxkit) {
    const kit = await import('../servers/ctxkit-grpc.ts');
    const core = await import('@ctxkit/core');
    options = kit.clientOptions();
    // The slot's previous call is over when its next one starts: its context ends then.
    const contexts: (import('@ctxkit/core').OwnedContext | undefined)[] = [];
    inContext = (slot, fn) => {
      contexts[slot]?.end();
      const ctx = core.createContext({ userId: 'u-42', timeoutMs: BUDGET_MS });
      contexts[slot] = ctx;
      return core.runWithContext(ctx, fn);
    };
  }
  const clients = new Map<string, EchoClient>();
  const clientFor = (target: string): EchoClient => {
    let c = clients.get(target);
    if (c === undefined) {
      c = new Client(target, grpc.credentials.createInsecure(), options);
      clients.set(target, c);
    }
    return c;
  };
  serveCommands(
    {
      run: (spec: GrpcRunSpec) => run(clientFor(spec.target), spec, inContext, metadata, callOptions),
      stats: () => ({ clientSpansExported: otel?.spansExported() }),
    },
    async () => {
      for (const c of clients.values()) c.close();
      await otel?.shutdown();
    },
  );
  ready();
}

function run(
  client: EchoClient,
  spec: GrpcRunSpec,
  inContext: RunInContext,
  metadata: () => GrpcJs.Metadata,
  callOptions: () => GrpcJs.CallOptions,
): Promise<GrpcRunResult> {
  const latencies = new Float64Array(spec.maxCalls);
  const request: EchoRequest = { text: 'hello', count: spec.streamCount, workMs: 0 };
  let started = 0;
  let done = 0;
  let errors = 0;
  let errorSample: string | undefined;
  let stopped = false;
  const cpu0 = cpuMicros();
  const t0 = performance.now();
  const deadline = t0 + spec.durationS * 1000;

  return new Promise((resolve) => {
    let active = 0;
    const finishRun = () => {
      const durationS = (performance.now() - t0) / 1000;
      const sorted = latencies.subarray(0, done).sort();
      resolve({
        requests: done,
        durationS,
        throughput: done / durationS,
        p50Ms: quantile(sorted, 0.5),
        p99Ms: quantile(sorted, 0.99),
        errors,
        errorSample,
        clientCpuUs: (cpuMicros() - cpu0) / Math.max(1, done),
      });
    };
    const guard = setTimeout(() => {
      stopped = true;
    }, spec.durationS * 1000);
    const complete = (slot: number, t: number, error: string | undefined) => {
      if (error !== undefined) {
        errors++;
        errorSample ??= error;
      }
      latencies[done++] = performance.now() - t;
      if (!stopped && started < spec.maxCalls && performance.now() < deadline) {
        next(slot);
        return;
      }
      if (--active === 0) {
        clearTimeout(guard);
        finishRun();
      }
    };
    const next = (slot: number) => {
      started++;
      const t = performance.now();
      inContext(slot, () => {
        if (spec.method === 'unary') {
          client.Unary(request, metadata(), callOptions(), (error) => complete(slot, t, error?.message));
        } else {
          let received = 0;
          const call = client.Stream(request, metadata(), callOptions());
          call.on('data', () => received++);
          call.on('error', () => undefined); // reported through 'status'
          call.on('status', (s: GrpcJs.StatusObject) => {
            const bad = s.code !== 0 ? s.details : received !== spec.streamCount ? `received ${received}` : undefined;
            complete(slot, t, bad);
          });
        }
      });
    };
    const slots = Math.min(spec.inflight, spec.maxCalls);
    active = slots;
    for (let i = 0; i < slots; i++) next(i);
  });
}

main().catch(failed);
