import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** A message a child sends back: a reply to a request, or `ready` once it listens. */
interface Reply {
  readonly id?: number;
  readonly type?: string;
  readonly result?: unknown;
  readonly error?: string;
}

/** Options of {@link startChild}. */
export interface ChildOptions {
  /** Extra Node flags (`--expose-gc`). */
  readonly nodeFlags?: readonly string[];
  /** How long the child may take to send `ready`, ms. */
  readonly readyTimeoutMs?: number;
  /** Extra environment. */
  readonly env?: Readonly<Record<string, string>>;
}

const live = new Set<ChildProcess>();
const srcDir = fileURLToPath(new URL('../', import.meta.url));

/**
 * A benchmark process (server or load generator) in its own process group, driven over IPC.
 * Every child is registered so that {@link killAll} can end it on exit or error.
 */
export class Child {
  readonly name: string;
  readonly proc: ChildProcess;
  /** What the child sent with `ready` (its port, for servers). */
  info: Record<string, unknown> = {};
  #next = 1;
  #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  #stderr = '';
  #exited: Promise<number | null>;

  constructor(name: string, proc: ChildProcess) {
    this.name = name;
    this.proc = proc;
    live.add(proc);
    proc.stderr?.setEncoding('utf8');
    proc.stderr?.on('data', (chunk: string) => {
      // Keep the tail only: enough to explain a crash.
      this.#stderr = (this.#stderr + chunk).slice(-4000);
    });
    proc.stdout?.resume();
    proc.on('message', (msg: Reply) => this.#onMessage(msg));
    this.#exited = new Promise((resolve) => {
      proc.once('exit', (code, signal) => {
        live.delete(proc);
        const why = new Error(`${name} exited (code ${code}, signal ${signal}) ${this.stderrTail()}`);
        for (const p of this.#pending.values()) {
          clearTimeout(p.timer);
          p.reject(why);
        }
        this.#pending.clear();
        resolve(code);
      });
    });
  }

  /** The last lines the child wrote to stderr. */
  stderrTail(): string {
    return this.#stderr.trim().split('\n').slice(-12).join('\n');
  }

  /** Resolves when the child exits, with its exit code. */
  get exited(): Promise<number | null> {
    return this.#exited;
  }

  #onMessage(msg: Reply): void {
    if (msg.id === undefined) return;
    const p = this.#pending.get(msg.id);
    if (p === undefined) return;
    this.#pending.delete(msg.id);
    clearTimeout(p.timer);
    if (msg.error !== undefined) p.reject(new Error(`${this.name}: ${msg.error}`));
    else p.resolve(msg.result);
  }

  /** Sends a command and waits for its reply, at most `timeoutMs`. */
  request<T>(cmd: string, payload: unknown = undefined, timeoutMs = 30_000): Promise<T> {
    const id = this.#next++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`${this.name}: no reply to '${cmd}' within ${timeoutMs} ms ${this.stderrTail()}`));
      }, timeoutMs);
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      if (!this.proc.connected) {
        this.#pending.delete(id);
        clearTimeout(timer);
        reject(new Error(`${this.name}: not connected ${this.stderrTail()}`));
        return;
      }
      this.proc.send({ id, cmd, payload });
    });
  }

  /** Asks the child to stop, then kills its process group if it has not exited within 3 s. */
  async stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    if (this.proc.connected) this.proc.send({ id: 0, cmd: 'stop' });
    const timer = setTimeout(() => killGroup(this.proc), 3000);
    await this.#exited;
    clearTimeout(timer);
  }
}

function killGroup(proc: ChildProcess): void {
  if (proc.pid === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
  try {
    process.kill(-proc.pid, 'SIGKILL');
  } catch {
    try {
      proc.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
}

/**
 * Starts `script` (relative to `src/`) with the running Node, waits for its `ready` message.
 * @throws when the child exits or stays silent past the ready timeout; the child is killed then.
 */
export async function startChild(name: string, script: string, args: readonly string[], opts: ChildOptions = {}): Promise<Child> {
  const proc = spawn(process.execPath, [...(opts.nodeFlags ?? []), srcDir + script, ...args], {
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    // Own process group: killAll() ends the child and anything it started.
    detached: true,
    env: { ...process.env, ...opts.env },
  });
  const child = new Child(name, proc);
  const timeoutMs = opts.readyTimeoutMs ?? 20_000;
  try {
    child.info = await new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${name}: not ready within ${timeoutMs} ms ${child.stderrTail()}`)), timeoutMs);
      proc.on('message', (msg: Reply) => {
        if (msg.type === 'ready') {
          clearTimeout(timer);
          resolve((msg.result ?? {}) as Record<string, unknown>);
        } else if (msg.type === 'failed') {
          clearTimeout(timer);
          reject(new Error(`${name}: ${msg.error}`));
        }
      });
      void child.exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`${name}: exited before ready ${child.stderrTail()}`));
      });
    });
  } catch (error) {
    killGroup(proc);
    throw error;
  }
  return child;
}

/** Stops every child given (in parallel); never throws. */
export async function stopAll(children: readonly (Child | undefined)[]): Promise<void> {
  await Promise.all(children.map((c) => c?.stop().catch(() => undefined)));
}

/** Kills every live child's process group at once (exit and signal paths). */
export function killAll(): void {
  for (const proc of live) killGroup(proc);
}

/** How many children are still running (for a leak check at the end). */
export function liveChildren(): number {
  return live.size;
}
