import { type Child, startChild, stopAll } from '../lib/children.ts';
import { elapsedS } from '../lib/progress.ts';
import type { ScenarioResult } from '../lib/results.ts';
import type { Plan } from './plan.ts';

/** What every scenario gets from the runner. */
export interface ScenarioEnv {
  readonly plan: Plan;
  /** Crashes, errors and non-2xx answers found so far; the run fails when it is not empty. */
  readonly problems: string[];
}

/**
 * The headers every HTTP request carries: a sampled W3C traceparent, a request id and the user
 * id an auth proxy would set. Each variant reads what it is built to read.
 */
export const REQUEST_HEADERS: Readonly<Record<string, string>> = {
  traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
  'x-request-id': '5f3c1b2a9d8e4f7a6b5c4d3e2f1a0b9c',
  'x-user-id': 'u-42',
};

/** A fresh scenario record. */
export function newScenario(
  id: string,
  title: string,
  kind: ScenarioResult['kind'],
  baseline: string | undefined,
  unit: string,
  method: string,
): ScenarioResult {
  return { id, title, kind, baseline, unit, method, variants: [], targets: [], notes: [], extra: {}, elapsedS: elapsedS() };
}

/** Closes the scenario's timing (elapsedS holds its start until then). */
export function finishScenario(s: ScenarioResult): ScenarioResult {
  s.elapsedS = Math.round((elapsedS() - s.elapsedS) * 10) / 10;
  return s;
}

let serverFlags: readonly string[] = [];

/** Node flags every server process gets from now on (`--cpu-prof` and its directory). */
export function setServerFlags(flags: readonly string[]): void {
  serverFlags = flags;
}

/** Starts a server process: `app` `variant` with `config`; its `info.port` is where it listens. */
export function startServer(name: string, app: string, variant: string, config: object = {}, gc = false): Promise<Child> {
  // Soak servers: --no-flush-bytecode, or V8 drops start-up code's bytecode after a few GCs and
  // the heap falls by megabytes between early checkpoints, hiding (or faking) a trend.
  let flags = gc ? [...serverFlags, '--expose-gc', '--no-flush-bytecode'] : [...serverFlags];
  if (flags.includes('--cpu-prof')) flags = [...flags, `--cpu-prof-name=${name}.${Date.now()}.cpuprofile`];
  return startChild(name, 'servers/server.ts', [app, variant, JSON.stringify(config)], { nodeFlags: flags });
}

/** Starts servers one after the other; if one fails, stops those already started and rethrows. */
export async function startChain(starts: ((prev: Child | undefined) => Promise<Child>)[]): Promise<Child[]> {
  const up: Child[] = [];
  try {
    for (const start of starts) up.push(await start(up[up.length - 1]));
    return up;
  } catch (error) {
    await stopAll(up);
    throw error;
  }
}

/** `127.0.0.1:port` of a started server. */
export function addressOf(child: Child): string {
  return `127.0.0.1:${String(child.info.port)}`;
}

/** Runs `fn` with the shared autocannon process of a scenario, stopping it afterwards. */
export async function withHttpLoader<R>(fn: (loader: Child) => Promise<R>): Promise<R> {
  const loader = await startChild('autocannon', 'load/http-load.ts', []);
  try {
    return await fn(loader);
  } finally {
    await loader.stop();
  }
}

/** The trace id of {@link REQUEST_HEADERS}' traceparent. */
export const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';

/**
 * One request before measuring: the variant must answer 200 with the id its context should hold
 * (so a variant that silently lost its context cannot be measured as a fast one).
 * @throws Error naming what came back otherwise.
 */
export async function probe(url: string, headers: Readonly<Record<string, string>>, expectedId: string): Promise<void> {
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  let id: unknown;
  try {
    id = (JSON.parse(text) as { id?: unknown }).id;
  } catch {
    id = undefined;
  }
  if (res.status !== 200 || id !== expectedId) {
    throw new Error(`probe ${url}: expected 200 with id ${expectedId}, got ${res.status} ${text.slice(0, 200)}`);
  }
}
