/** Scenario 3: gRPC unary echo and a server stream, N calls in flight from a grpc-js client process. */
import { startChild, stopAll } from '../lib/children.ts';
import { unavailable } from '../lib/packages.ts';
import type { ScenarioResult } from '../lib/results.ts';
import { type LoadVariant, measureRounds } from '../lib/rounds.ts';
import { grpcRunning } from '../lib/runners.ts';
import { GRPC_VARIANTS } from '../servers/grpc-app.ts';
import { addressOf, finishScenario, newScenario, type ScenarioEnv, startServer } from './common.ts';
import { bothEndsTarget, otelSumTarget, ratioTarget, relativeTarget } from './targets.ts';

const STREAM_MESSAGES = 10;

function variantsOf(env: ScenarioEnv, method: 'unary' | 'stream'): LoadVariant[] {
  return Object.entries(GRPC_VARIANTS).map(([name, description]) => ({
    name,
    description,
    unavailable: name.startsWith('ctxkit') ? unavailable('@ctxkit/grpc') : undefined,
    async start() {
      const server = await startServer(`grpc-${name}`, 'grpc', name, { role: 'echo' });
      try {
        // The client side of each variant is its own process: OpenTelemetry must patch grpc-js before it loads.
        const loader = await startChild(`grpc-client-${name}`, 'load/grpc-load.ts', [name]);
        return grpcRunning([server], loader, {
          target: addressOf(server),
          method,
          inflight: env.plan.inflight,
          streamCount: STREAM_MESSAGES,
        });
      } catch (error) {
        await stopAll([server]);
        throw error;
      }
    },
  }));
}

function method(env: ScenarioEnv, what: string): string {
  const p = env.plan.load;
  return (
    `${what}; a grpc-js client process keeping ${env.plan.inflight} calls in flight on one channel; ` +
    `server in its own process; warm-up ${p.warmupS} s, then ${p.rounds} runs of ${p.runS} s per variant, alternating round by round; ` +
    `every ctxkit call runs in a context of its own (trace id, request id, user id, a 5 s budget); the manual variant writes the three ids and a 5 s deadline by hand into each call; by-hand does the same through a client and a server interceptor around an AsyncLocalStorage (the issue's baseline); ` +
    `OpenTelemetry instruments client and server. Client CPU is the load generator's.`
  );
}

/** Scenario 3: unary echo. */
export async function grpcUnaryScenario(env: ScenarioEnv): Promise<ScenarioResult> {
  const s = newScenario('S3', 'gRPC unary echo', 'load', 'bare', 'call', method(env, 'Echo.Unary'));
  await measureRounds(s, variantsOf(env, 'unary'), env.plan.load, env.problems);
  s.targets.push(ratioTarget(s, 'ctxkit', 'throughput', 0.93, 'gRPC client+server interceptors ≥ 0.93× bare calls/s'));
  s.targets.push(relativeTarget(s, 'ctxkit', 'by-hand', 'gRPC interceptors (ids + budget) ≥ 0.97× the same written by hand (interceptors + als.run)', 0.97));
  s.targets.push(relativeTarget(s, 'ctxkit', 'manual', 'for reading the above: ctxkit ÷ the ids written into each call with no interceptor nor store', 0));
  s.targets.push(relativeTarget(s, 'ctxkit', 'otel', 'gRPC interceptors ≥ 1.3× the OpenTelemetry grpc instrumentation', 1.3));
  s.targets.push(otelSumTarget(s));
  s.targets.push(ratioTarget(s, 'ctxkit', 'cpuUs', undefined, 'for reading the above: interceptors server CPU per call ÷ bare'));
  s.targets.push(ratioTarget(s, 'ctxkit', 'clientCpuUs', undefined, 'for reading the above: interceptors client (load generator) CPU per call ÷ bare'));
  s.targets.push(ratioTarget(s, 'manual', 'throughput', undefined, 'for reading the above: three ids by hand, calls/s ÷ bare (what the wire costs)'));
  s.targets.push(bothEndsTarget(s, 'ctxkit', 'by-hand', 'for reading the above: calls per CPU-second of both ends, ctxkit ÷ by-hand'));
  s.targets.push(bothEndsTarget(s, 'ctxkit', 'otel', 'for reading the above: calls per CPU-second of both ends, ctxkit ÷ otel'));
  s.targets.push(bothEndsTarget(s, 'manual', 'otel', 'for reading the above: calls per CPU-second of both ends, the ids written into each call (no interceptor nor store) ÷ otel'));
  return finishScenario(s);
}

/** Scenario 3b: server streaming, STREAM_MESSAGES replies per call. */
export async function grpcStreamScenario(env: ScenarioEnv): Promise<ScenarioResult> {
  const s = newScenario('S3b', `gRPC server streaming (${STREAM_MESSAGES} messages per call)`, 'load', 'bare', 'call', method(env, 'Echo.Stream'));
  await measureRounds(s, variantsOf(env, 'stream'), env.plan.load, env.problems);
  s.targets.push(relativeTarget(s, 'ctxkit', 'by-hand', 'gRPC streaming (ids + budget) ≥ 0.97× the same written by hand (interceptors + als.run)', 0.97));
  s.targets.push(relativeTarget(s, 'ctxkit', 'otel', 'gRPC streaming ≥ 1.3× the OpenTelemetry grpc instrumentation', 1.3));
  return finishScenario(s);
}
