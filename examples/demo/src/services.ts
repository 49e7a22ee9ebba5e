// Starts the example services as child processes on 127.0.0.1 ephemeral ports, collects what
// they report over IPC, and stops them all, whatever happens.
import { type ChildProcess, spawn } from 'node:child_process';
import { EventEmitter, once } from 'node:events';
import { createWriteStream, mkdtempSync, type WriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startNats, startRedis, type TestServer } from '@ctxkit/test-support/servers';
import { type Hop, isServiceMessage, type ServiceMessage, type ServiceName } from './hop.ts';

const EXAMPLES = fileURLToPath(new URL('../../', import.meta.url));
/** Generous for a loaded 2-core machine: a service loads OpenTelemetry and grpc-js first. */
const READY_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 5_000;

/** The running services: their ports, their hop reports, their log files. */
export class Services {
  readonly logDir = mkdtempSync(join(tmpdir(), 'ctxkit-demo-'));
  readonly ports = new Map<ServiceName, number>();
  /** Every hop report received, start reports included, in arrival order. */
  readonly hops: { kind: 'hop-start' | 'hop'; hop: Hop }[] = [];
  readonly #children = new Map<ServiceName, ChildProcess>();
  readonly #logs: WriteStream[] = [];
  readonly #events = new EventEmitter();
  /** nats-server and redis-server, for the asynchronous leg (orders.created → the receipt job). */
  #brokers: TestServer[] = [];

  /**
   * Starts nats-server and redis-server, then inventory and billing, then fulfilment and orders
   * (pointed at them), then the gateway.
   * @throws when a server or service exits or is not ready within 20 s; the ones started are stopped.
   */
  async start(options: { echoLogs?: boolean } = {}): Promise<void> {
    try {
      const [nats, redis] = await Promise.all([startNats(), startRedis()]);
      this.#brokers = [nats, redis];
      const NATS_URL = nats.address;
      // Two services start at a time: each loads OpenTelemetry and grpc-js, and on a loaded
      // 2-core machine more at once made one miss its 20 s.
      await Promise.all([this.#startOne('inventory', {}, options), this.#startOne('billing', {}, options)]);
      await Promise.all([
        this.#startOne('fulfilment', { NATS_URL, REDIS_PORT: String(redis.port) }, options),
        this.#startOne('orders', {
          INVENTORY_ADDR: `127.0.0.1:${this.ports.get('inventory')}`,
          BILLING_URL: `http://127.0.0.1:${this.ports.get('billing')}`,
          NATS_URL,
        }, options),
      ]);
      await this.#startOne('gateway', { ORDERS_ADDR: `127.0.0.1:${this.ports.get('orders')}` }, options);
    } catch (error) {
      await this.stop();
      throw error;
    }
  }

  /** The gateway's base URL. */
  get gatewayUrl(): string {
    return `http://127.0.0.1:${this.ports.get('gateway')}`;
  }

  /** Final hop reports of one trace, by service. */
  finished(traceId: string): Map<string, Hop> {
    const out = new Map<string, Hop>();
    for (const { kind, hop } of this.hops) if (kind === 'hop' && hop.traceId === traceId) out.set(hop.service, hop);
    return out;
  }

  /**
   * Waits until `done` holds for the hop reports of `traceId` (start reports included).
   * @throws after `timeoutMs`, saying what was seen.
   */
  async waitFor(traceId: string, done: (hops: { kind: string; hop: Hop }[]) => boolean, what: string, timeoutMs = 8_000): Promise<void> {
    const check = () => done(this.hops.filter((h) => h.hop.traceId === traceId));
    if (check()) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#events.off('hop', onHop);
        const seen = this.hops.filter((h) => h.hop.traceId === traceId).map((h) => `${h.hop.service}:${h.kind === 'hop' ? h.hop.status : 'started'}`);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; seen: ${seen.join(', ') || 'nothing'}`));
      }, timeoutMs);
      const onHop = () => {
        if (!check()) return;
        clearTimeout(timer);
        this.#events.off('hop', onHop);
        resolve();
      };
      this.#events.on('hop', onHop);
    });
  }

  /** Calls `listener` with every final hop report. Returns a function that stops it. */
  onHop(listener: (hop: Hop) => void): () => void {
    const wrapped = (kind: string, hop: Hop) => kind === 'hop' && listener(hop);
    this.#events.on('hop', wrapped);
    return () => this.#events.off('hop', wrapped);
  }

  /** Stops every service started: SIGTERM, then SIGKILL for any still running after 5 s. Idempotent. */
  async stop(): Promise<void> {
    const running = [...this.#children.values()].filter((c) => c.exitCode === null && c.signalCode === null);
    this.#children.clear();
    await Promise.all(running.map((child) => stopChild(child)));
    await Promise.all(this.#brokers.splice(0).map((server) => server.stop()));
    for (const log of this.#logs.splice(0)) log.end();
  }

  /** Last resort on process exit: kills what is left, synchronously. */
  killAll(): void {
    for (const child of this.#children.values()) if (child.exitCode === null) child.kill('SIGKILL');
    for (const server of this.#brokers) void server.stop(); // kills at once; the promise is for the exit
  }

  async #startOne(name: ServiceName, env: Record<string, string>, options: { echoLogs?: boolean }): Promise<void> {
    const cwd = join(EXAMPLES, name);
    const child = spawn(process.execPath, ['--import', './src/otel.ts', 'src/main.ts'], {
      cwd,
      env: { ...process.env, ...env, CTXKIT_DEMO_IPC: '1' },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    this.#children.set(name, child);
    const log = createWriteStream(join(this.logDir, `${name}.log`));
    this.#logs.push(log);
    child.stdout!.pipe(log, { end: false });
    child.stderr!.pipe(log, { end: false });
    if (options.echoLogs) {
      child.stdout!.on('data', (chunk: Buffer) => process.stdout.write(prefixLines(name, chunk)));
      child.stderr!.on('data', (chunk: Buffer) => process.stderr.write(prefixLines(name, chunk)));
    }
    child.on('message', (message: unknown) => {
      if (!isServiceMessage(message)) return;
      this.#receive(name, message);
    });

    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(new Error(`${name} was not ready within ${READY_TIMEOUT_MS} ms (log: ${join(this.logDir, `${name}.log`)})`)), READY_TIMEOUT_MS);
    try {
      await Promise.race([
        once(this.#events, `ready:${name}`, { signal: ac.signal }),
        once(child, 'exit', { signal: ac.signal }).then(([code]) => {
          throw new Error(`${name} exited with ${code} before it was ready (log: ${join(this.logDir, `${name}.log`)})`);
        }),
      ]);
    } catch (error) {
      throw ac.signal.aborted ? ac.signal.reason : error;
    } finally {
      clearTimeout(timer);
      ac.abort();
    }
  }

  #receive(name: ServiceName, message: ServiceMessage): void {
    if (message.type === 'ready') {
      this.ports.set(name, message.port);
      this.#events.emit(`ready:${name}`);
      return;
    }
    this.hops.push({ kind: message.type, hop: message.hop });
    this.#events.emit('hop', message.type, message.hop);
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

function prefixLines(name: string, chunk: Buffer): string {
  return chunk
    .toString()
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => `${name.padEnd(9)} | ${line}\n`)
    .join('');
}
