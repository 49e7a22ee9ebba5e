/** Scenarios 1 (Fastify), 2 (Express) and 4 (the whole chain): HTTP load through autocannon. */
import { type Child, stopAll } from '../lib/children.ts';
import { type Adapter, unavailable } from '../lib/packages.ts';
import type { ScenarioResult } from '../lib/results.ts';
import { type LoadVariant, measureRounds } from '../lib/rounds.ts';
import { httpRunning } from '../lib/runners.ts';
import { EXPRESS_VARIANTS } from '../servers/express-app.ts';
import { FASTIFY_VARIANTS } from '../servers/fastify-app.ts';
import { CONSTANT_ID } from '../servers/types.ts';
import {
  addressOf,
  finishScenario,
  newScenario,
  probe,
  REQUEST_HEADERS,
  type ScenarioEnv,
  startChain,
  startServer,
  TRACE_ID,
  withHttpLoader,
} from './common.ts';
import { cpuOverTarget, otelSumTarget, ratioTarget, relativeTarget } from './targets.ts';

function needs(variant: string, adapter: Adapter): string | undefined {
  return variant.startsWith('ctxkit') ? unavailable(adapter) : undefined;
}

/** The id each HTTP variant's handler must read from its context for {@link REQUEST_HEADERS}. */
function expectedId(variant: string): string {
  if (variant === 'bare') return CONSTANT_ID;
  if (variant === 'ctxkit-resolve-user') return REQUEST_HEADERS['x-user-id']!;
  if (variant === 'request-context' || variant === 'cls-rtracer' || variant === 'als-hook') return REQUEST_HEADERS['x-request-id']!;
  return TRACE_ID; // ctxkit, otel, ctxkit-otel, features-by-hand: the incoming traceparent's trace id
}

function method(env: ScenarioEnv, what: string, bound = false): string {
  const p = bound ? env.plan.serverBound : env.plan.load;
  const load = bound
    ? `${env.plan.serverBound.connections} connections × pipelining ${env.plan.serverBound.pipelining} (server-bound)`
    : `${env.plan.connections} connections, no pipelining`;
  return (
    `${what}; autocannon, ${load}, in its own process; ` +
    `each server in its own process; warm-up ${p.warmupS} s, then ${p.rounds} runs of ${p.runS} s per variant, ` +
    `variants alternating round by round; figures are median (min–max); ratios are medians of per-round ratios to the baseline.`
  );
}

/** The variants of a `GET /hello` scenario: each server probed, then loaded by `loader`. */
function helloVariants(
  app: 'fastify' | 'express',
  table: Readonly<Record<string, string>>,
  pkg: Adapter,
  env: ScenarioEnv,
  loader: HttpLoader,
  bound = false,
): LoadVariant[] {
  const connections = bound ? env.plan.serverBound.connections : env.plan.connections;
  const pipelining = bound ? env.plan.serverBound.pipelining : 1;
  return Object.entries(table).map(([name, description]) => ({
    name,
    description,
    unavailable: needs(name, pkg),
    async start() {
      const server = await startServer(`${app}-${name}`, app, name);
      const url = `http://${addressOf(server)}/hello`;
      await probe(url, REQUEST_HEADERS, expectedId(name)).catch(async (error: unknown) => {
        await stopAll([server]);
        throw error;
      });
      return httpRunning([server], loader, { url, connections, pipelining, headers: REQUEST_HEADERS });
    },
  }));
}

type HttpLoader = Parameters<Parameters<typeof withHttpLoader>[0]>[0];

/** Scenario 1: Fastify 5, GET small JSON. */
export async function fastifyScenario(env: ScenarioEnv): Promise<ScenarioResult> {
  const s = newScenario('S1', 'Fastify 5, GET small JSON', 'load', 'bare', 'req', method(env, 'GET /hello → {"hello":"world","id":…}'));
  await withHttpLoader(async (loader) => {
    const variants = helloVariants('fastify', FASTIFY_VARIANTS, '@ctxkit/fastify', env, loader);
    await measureRounds(s, variants, env.plan.load, env.problems);
  });
  s.targets.push(ratioTarget(s, 'ctxkit', 'throughput', 0.95, 'Fastify plugin ≥ 0.95× bare req/s'));
  s.targets.push(relativeTarget(s, 'ctxkit', 'request-context', 'Fastify plugin no slower than @fastify/request-context'));
  s.targets.push(ratioTarget(s, 'ctxkit', 'cpuUs', undefined, 'for reading the above: Fastify plugin server CPU per request ÷ bare'));
  s.targets.push(
    relativeTarget(s, 'request-context', 'ctxkit', 'for reading the above: @fastify/request-context CPU per request ÷ plugin CPU per request', 0, 'cpuUs'),
  );
  s.targets.push(otelSumTarget(s));
  return finishScenario(s);
}

/** Scenario 1b: Fastify 5 as S1, server-bound (issue 19's first table). */
export async function fastifyBoundScenario(env: ScenarioEnv): Promise<ScenarioResult> {
  const s = newScenario('S1b', 'Fastify 5, GET small JSON, server-bound', 'load', 'bare', 'req', method(env, 'GET /hello → {"hello":"world","id":…}', true));
  await withHttpLoader(async (loader) => {
    const variants = helloVariants('fastify', FASTIFY_VARIANTS, '@ctxkit/fastify', env, loader, true);
    await measureRounds(s, variants, env.plan.serverBound, env.problems);
  });
  s.targets.push(
    relativeTarget(s, 'ctxkit-resolve-user', 'request-context', 'Fastify plugin with budget + resolveUser no slower than @fastify/request-context (ids only)'),
  );
  s.targets.push(cpuOverTarget(s, 'ctxkit-resolve-user', 1.5, 'Fastify plugin with budget + resolveUser: server CPU per request over bare'));
  s.targets.push(cpuOverTarget(s, 'ctxkit', 1.5, 'for reading the above: Fastify plugin with defaults, server CPU per request over bare'));
  // The floor: what the same features cost when written by hand as cheaply as one can.
  s.targets.push(cpuOverTarget(s, 'features-by-hand', undefined, 'for reading the above: the same features by hand (the floor), server CPU per request over bare'));
  s.targets.push(relativeTarget(s, 'features-by-hand', 'request-context', 'for reading the above: the same features by hand ÷ @fastify/request-context req/s', 0));
  // Server-bound too: with the server saturated, what the two together add shows undiluted.
  s.targets.push(otelSumTarget(s));
  s.targets.push(ratioTarget(s, 'ctxkit-resolve-user', 'throughput', undefined, 'for reading the above: budget + resolveUser req/s ÷ bare'));
  s.targets.push(ratioTarget(s, 'als-hook', 'throughput', undefined, 'for reading the above: a hand-written als.run hook req/s ÷ bare'));
  return finishScenario(s);
}

/** Scenario 2b: Express 5 as S2, server-bound. */
export async function expressBoundScenario(env: ScenarioEnv): Promise<ScenarioResult> {
  const s = newScenario('S2b', 'Express 5, GET small JSON, server-bound', 'load', 'bare', 'req', method(env, 'GET /hello → {"hello":"world","id":…}', true));
  await withHttpLoader(async (loader) => {
    const variants = helloVariants('express', EXPRESS_VARIANTS, '@ctxkit/express', env, loader, true);
    await measureRounds(s, variants, env.plan.serverBound, env.problems);
  });
  s.targets.push(relativeTarget(s, 'ctxkit-budget', 'cls-rtracer', 'Express middleware with a budget no slower than cls-rtracer'));
  s.targets.push(relativeTarget(s, 'ctxkit', 'cls-rtracer', 'for reading the above: Express middleware with defaults ÷ cls-rtracer', 0));
  s.targets.push(relativeTarget(s, 'features-by-hand', 'cls-rtracer', 'for reading the above: the same features by hand (the floor) ÷ cls-rtracer', 0));
  s.targets.push(relativeTarget(s, 'ctxkit-budget', 'features-by-hand', 'for reading the above: Express middleware with a budget ÷ the same features by hand', 0));
  s.targets.push(ratioTarget(s, 'ctxkit-budget', 'cpuUs', undefined, 'for reading the above: Express middleware with a budget, server CPU per request ÷ bare'));
  return finishScenario(s);
}

/** Scenario 2: Express 5, GET small JSON. */
export async function expressScenario(env: ScenarioEnv): Promise<ScenarioResult> {
  const s = newScenario('S2', 'Express 5, GET small JSON', 'load', 'bare', 'req', method(env, 'GET /hello → {"hello":"world","id":…}'));
  await withHttpLoader(async (loader) => {
    const variants = helloVariants('express', EXPRESS_VARIANTS, '@ctxkit/express', env, loader);
    await measureRounds(s, variants, env.plan.load, env.problems);
  });
  return finishScenario(s);
}

const CHAIN_VARIANTS = {
  'by-hand':
    'ids (trace, request, user) and the deadline by hand as the issue puts it for gRPC: an onRequest hook entering an AsyncLocalStorage at the gateway, hand-written client and server interceptors around it at every hop; client disconnect and caller cancel forwarded by hand',
  manual: 'ids (trace, request, user) copied into metadata and the deadline passed as a call option by hand at every hop; client disconnect and caller cancel forwarded by hand',
  ctxkit: '@ctxkit/fastify (resolveUser, 5 s default budget) at the gateway, @ctxkit/grpc interceptors + wrapService on both services',
} as const;

/** Starts gateway → middle → leaf of `variant` (leaf first, each told where the next listens). */
export function startChainOf(variant: string, gc: boolean, withMiddle: boolean): Promise<Child[]> {
  const starts: ((prev: Child | undefined) => Promise<Child>)[] = [
    () => startServer(`leaf-${variant}`, 'grpc', variant, { role: 'leaf' }, gc),
  ];
  if (withMiddle) {
    starts.push((prev) => startServer(`middle-${variant}`, 'grpc', variant, { role: 'middle', upstream: addressOf(prev!) }, gc));
  }
  starts.push((prev) => startServer(`gateway-${variant}`, 'gateway', variant, { upstream: addressOf(prev!) }, gc));
  return startChain(starts).then((up) => up.reverse()); // gateway first
}

/** Scenario 4: HTTP → Fastify gateway → gRPC service → gRPC service, ctxkit against by hand. */
export async function chainScenario(env: ScenarioEnv): Promise<ScenarioResult> {
  const s = newScenario(
    'S4',
    'Whole chain: HTTP → Fastify gateway → gRPC → gRPC',
    'load',
    'by-hand',
    'req',
    method(env, 'GET /order with request-timeout-ms: 2000 → gateway → middle service → leaf service; CPU is the sum of the three server processes'),
  );
  await withHttpLoader(async (loader) => {
    const variants: LoadVariant[] = Object.entries(CHAIN_VARIANTS).map(([name, description]) => ({
      name,
      description,
      unavailable: name === 'ctxkit' ? unavailable('@ctxkit/fastify', '@ctxkit/grpc') : undefined,
      async start() {
        const servers = await startChainOf(name, false, true);
        const url = `http://${addressOf(servers[0]!)}/order`;
        const headers = { ...REQUEST_HEADERS, 'request-timeout-ms': '2000' };
        // The leaf answers the trace id it sees: the chain must carry it through both hops.
        await probe(url, headers, TRACE_ID).catch(async (error: unknown) => {
          await stopAll(servers);
          throw error;
        });
        return httpRunning(servers, loader, { url, connections: env.plan.connections, headers });
      },
    }));
    await measureRounds(s, variants, env.plan.load, env.problems);
  });
  s.targets.push(
    ratioTarget(s, 'ctxkit', 'throughput', 0.95, 'ctxkit chain ≥ 0.95× the hand-written chain (ids and deadline by hand: interceptors + als.run)'),
  );
  s.targets.push(relativeTarget(s, 'ctxkit', 'manual', 'for reading the above: ctxkit chain ÷ the ids copied into each call by hand (no interceptor nor store)', 0));
  s.targets.push(relativeTarget(s, 'ctxkit', 'by-hand', 'for reading the above: server CPU per request (the three servers), ctxkit chain ÷ by-hand chain', 0, 'cpuUs'));
  return finishScenario(s);
}
