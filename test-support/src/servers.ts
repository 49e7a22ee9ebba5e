/**
 * Real message servers for tests: `nats-server` and `redis-server` started on a free
 * 127.0.0.1 port, awaited until they say they accept connections, stopped by the test.
 * A server that is not installed fails the test that needs it, with the package to install:
 * never a skip.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A server process started for a test. */
export interface TestServer {
  readonly port: number;
  /** `127.0.0.1:<port>` */
  readonly address: string;
  /** Kills the process and waits for it to exit. Idempotent. */
  stop(): Promise<void>;
}

/** A port nothing listens on now (the kernel's pick for 127.0.0.1:0). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

/**
 * Spawns `command` and resolves once a line of its output matches `ready`. Rejects when the
 * binary is missing, when it exits first (with its output), or after `timeoutMs`.
 */
function startProcess(command: string, args: string[], ready: RegExp, aptPackage: string, timeoutMs = 15_000): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const fail = (error: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(error);
    };
    const timer = setTimeout(() => fail(new Error(`${command} did not become ready in ${timeoutMs} ms:\n${output}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (ready.test(output)) {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        child.stderr!.off('data', onData);
        child.stdout!.resume();
        child.stderr!.resume();
        child.off('exit', onExit);
        resolve(child);
      }
    };
    const onExit = (code: number | null) => fail(new Error(`${command} exited (${String(code)}) before it was ready:\n${output}`));
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', onExit);
    child.once('error', (error: NodeJS.ErrnoException) => {
      fail(
        error.code === 'ENOENT'
          ? new Error(`${command} is not installed: this test needs it (Debian: apt-get install -y ${aptPackage})`)
          : error,
      );
    });
  });
}

function stopper(child: ChildProcess, cleanup?: () => void): () => Promise<void> {
  let stopped: Promise<void> | undefined;
  return () =>
    (stopped ??= new Promise<void>((resolve) => {
      const done = () => {
        cleanup?.();
        resolve();
      };
      if (child.exitCode !== null || child.signalCode !== null) return done();
      child.once('exit', done);
      child.kill('SIGKILL');
    }));
}

// Another process may take the free port between the probe and the server's bind: try again.
async function withPortRetry<S extends TestServer>(start: (port: number) => Promise<S>): Promise<S> {
  let last: unknown;
  for (let i = 0; i < 3; i++) {
    try {
      return await start(await freePort());
    } catch (error) {
      last = error;
      if (!/address already in use|bind/i.test(String(error))) throw error;
    }
  }
  throw last;
}

/** What nats-server's monitoring endpoint says about itself (the fields tests read). */
export interface NatsVarz {
  /** Subscriptions open on the server, all connections together. */
  readonly subscriptions: number;
  readonly connections: number;
  readonly in_msgs: number;
}

/** Starts `nats-server` on 127.0.0.1 (with JetStream, in a temporary store, when asked). */
export function startNats(options: { jetstream?: boolean } = {}): Promise<TestServer & { varz(): Promise<NatsVarz> }> {
  return withPortRetry(async (port) => {
        const monitor = await freePort();
    const args = ['-a', '127.0.0.1', '-p', String(port), '-m', String(monitor)];
    let store: string | undefined;
    if (options.jetstream === true) {
      store = mkdtempSync(join(tmpdir(), 'ctxkit-nats-'));
      args.push('-js', '-sd', store);
    }
    const cleanup = () => {
      if (store !== undefined) rmSync(store, { recursive: true, force: true });
    };
    try {
      const child = await startProcess('nats-server', args, /Server is ready/, 'nats-server');
      const varz = async () => (await (await fetch(`http://127.0.0.1:${monitor}/varz`)).json()) as NatsVarz;
      return { port, address: `127.0.0.1:${port}`, stop: stopper(child, cleanup), varz };
    } catch (error) {
      cleanup();
      throw error;
    }
  });
}

/** Starts `redis-server` on 127.0.0.1, in memory only. */
export function startRedis(): Promise<TestServer> {
  return withPortRetry(async (port) => {
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', tmpdir()];
    const child = await startProcess('redis-server', args, /Ready to accept connections/, 'redis-server');
    return { port, address: `127.0.0.1:${port}`, stop: stopper(child) };
  });
}
