/** Service processes of the fault chain: start, kill, restart, read logs and resource counts. */
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('./service.ts', import.meta.url));

/** Resource counts and heap of one process, after GC. */
export interface Stats {
  readonly counts: Readonly<Record<string, number>>;
  readonly heapUsed: number;
}

/** One service process; its stdout lines are kept across restarts. */
export class ServiceProc {
  readonly lines: string[] = [];
  /** Exits that were not asked for (code or signal), with the process's name. */
  readonly unexpectedExits: string[] = [];
  child: ChildProcess | undefined;
  port = 0;
  target = '';
  /** `lines.length` when the process was last killed: later lines are the new process's. */
  killedAtLine = -1;
  #killing = false;
  #nextId = 0;
  #partial = '';

  constructor(
    readonly role: 'edge' | 'grpc' | 'http',
    readonly name: string,
  ) {}

  async start(port = 0): Promise<void> {
    const child = fork(SCRIPT, [this.role, this.name, String(port)], {
      execPath: process.execPath,
      execArgv: ['--expose-gc'],
      stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    });
    this.child = child;
    this.#killing = false;
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      const parts = (this.#partial + chunk).split('\n');
      this.#partial = parts.pop()!;
      for (const p of parts) if (p !== '') this.lines.push(p);
    });
    child.on('exit', (code, signal) => {
      if (!this.#killing) this.unexpectedExits.push(`${this.name}: code ${code} signal ${signal}`);
    });
    // Bounds, not expectations: a loaded CI machine (load 20 on 2 cores here) needs seconds to start Node.
    const [msg] = (await once(child, 'message', { signal: AbortSignal.timeout(60_000) })) as [{ type: string; port: number; target: string }];
    this.port = msg.port;
    this.target = msg.target;
  }

  /** SIGKILL: no shutdown, connections drop. */
  async kill(): Promise<void> {
    const child = this.child!;
    this.#killing = true;
    const exited = once(child, 'exit', { signal: AbortSignal.timeout(30_000) });
    child.kill('SIGKILL');
    this.killedAtLine = this.lines.length;
    await exited;
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    this.#killing = true;
    const exited = once(child, 'exit', { signal: AbortSignal.timeout(30_000) });
    child.send({ type: 'stop' });
    await exited.catch(() => child.kill('SIGKILL'));
  }

  async stats(): Promise<Stats> {
    const id = ++this.#nextId;
    const child = this.child!;
    const reply = new Promise<Stats>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.name}: no stats within 20 s`)), 20_000);
      const onMessage = (m: { type: string; id: number } & Stats) => {
        if (m.type !== 'stats' || m.id !== id) return;
        clearTimeout(timer);
        child.off('message', onMessage);
        resolve(m);
      };
      child.on('message', onMessage);
    });
    child.send({ type: 'stats', id });
    return reply;
  }

  /** Stdout lines as JSON; a line that is not JSON throws, naming it. */
  parsed(): Record<string, unknown>[] {
    return this.lines.map((l) => {
      try {
        return JSON.parse(l) as Record<string, unknown>;
      } catch {
        throw new Error(`${this.name} wrote a line that is not JSON: ${l.slice(0, 200)}`);
      }
    });
  }
}
