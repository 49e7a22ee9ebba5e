/**
 * Test-side handling of the chain's processes: start them in order (C, B, gateway), collect what
 * each recorded over IPC, and kill them all at the end. Every wait is bounded.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { ChildMessage, CollectMessage, Role, Seen, SpanRecord } from './fixtures/protocol.ts';

const CHILD = fileURLToPath(new URL('./fixtures/child.ts', import.meta.url));
const START_MS = 15_000;

/** One running chain process. */
export interface ChainProcess {
  readonly role: Role;
  readonly port: number;
  readonly otel: boolean;
  /** Hands over what was recorded since the last call, waiting (bounded) for `minSpans` spans. */
  collect(minSpans?: number, waitMs?: number): Promise<{ spans: SpanRecord[]; seen: Seen[] }>;
}

/** A started gateway → B → C chain. */
export interface Chain {
  readonly gateway: ChainProcess;
  readonly b: ChainProcess;
  readonly c: ChainProcess;
  /** Base URL of the gateway. */
  readonly url: string;
  /** Kills every process (SIGKILL when one does not exit after SIGTERM). */
  stop(): Promise<void>;
}

/** Which hops run the OpenTelemetry SDK. */
export type OtelPlan = Readonly<Record<Role, boolean>>;

/** Starts C, then B, then the gateway, each in its own process. Kills what started on failure. */
export async function startChain(plan: OtelPlan): Promise<Chain> {
  const started: ChildProcess[] = [];
  const stop = () => Promise.all(started.map(kill)).then(() => undefined);
  try {
    const c = await startProcess('c', plan.c, undefined, started);
    const b = await startProcess('b', plan.b, `127.0.0.1:${c.port}`, started);
    const gateway = await startProcess('gateway', plan.gateway, `127.0.0.1:${b.port}`, started, ['user-id']);
    return { gateway, b, c, url: `http://127.0.0.1:${gateway.port}`, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function startProcess(
  role: Role,
  otel: boolean,
  next: string | undefined,
  started: ChildProcess[],
  baggageKeys: readonly string[] = [],
): Promise<ChainProcess> {
  const child = fork(CHILD, [], {
    execArgv: ['--disable-warning=ExperimentalWarning'],
    env: {
      PATH: process.env.PATH,
      CHAIN_ROLE: role,
      CHAIN_OTEL: otel ? '1' : '0',
      CHAIN_NEXT: next ?? '',
      CHAIN_BAGGAGE_KEYS: baggageKeys.join(','),
      // No exporter, detector or diagnostics beyond what the child sets up itself.
      OTEL_TRACES_EXPORTER: 'none',
      OTEL_METRICS_EXPORTER: 'none',
      OTEL_LOGS_EXPORTER: 'none',
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  started.push(child);
  const ready = (await nextMessage(child, (m) => m.type === 'ready', START_MS, `${role} to start`)) as Extract<
    ChildMessage,
    { type: 'ready' }
  >;
  let ids = 0;
  return {
    role,
    port: ready.port,
    otel: ready.otel,
    async collect(minSpans = 0, waitMs = 5000) {
      const id = ++ids;
      const request: CollectMessage = { type: 'collect', id, minSpans, waitMs };
      const reply = nextMessage(child, (m) => m.type === 'collected' && m.id === id, waitMs + 5000, `${role} to report`);
      child.send(request);
      const { spans, seen } = (await reply) as Extract<ChildMessage, { type: 'collected' }>;
      return { spans, seen };
    },
  };
}

/** The next IPC message matching `test`; rejects when the child exits or `ms` passes first. */
function nextMessage(child: ChildProcess, test: (m: ChildMessage) => boolean, ms: number, what: string): Promise<ChildMessage> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    const onMessage = (m: ChildMessage) => {
      if (test(m)) done(undefined, m);
    };
    const onExit = (code: number | null, signal: string | null) =>
      done(new Error(`process exited (${code ?? signal}) while waiting for ${what}`));
    function done(error: Error | undefined, m?: ChildMessage) {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      if (error === undefined) resolve(m!);
      else reject(error);
    }
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
  try {
    await exited;
  } finally {
    clearTimeout(timer);
  }
}
