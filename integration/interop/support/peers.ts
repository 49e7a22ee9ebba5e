/**
 * Foreign peers of the interop suite: the Go and Python relays, nginx and HAProxy, each a real
 * process on 127.0.0.1 that reports to the test as JSON lines on stdout. A peer that cannot be
 * had fails its tests with the reason (and what to install), never skips them.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const INTEROP_DIR = fileURLToPath(new URL('..', import.meta.url));
export const PROTO = join(INTEROP_DIR, 'api', 'relay.proto');
const GO_SRC = join(INTEROP_DIR, 'peers', 'go');
const PY_RELAY = join(INTEROP_DIR, 'peers', 'python', 'relay.py');
/** Debian's grpcio and grpc_tools live in the system Python, not in a pyenv one on PATH. */
const PYTHON = '/usr/bin/python3';
const GOPATH = '/usr/share/gocode';

/** One JSON line a peer printed. */
export type PeerEvent = { readonly event: string } & Record<string, unknown>;

/** A foreign process: its events, and a way to wait for one. */
export class Peer {
  readonly events: PeerEvent[] = [];
  readonly stderr: string[] = [];
  readonly #child: ChildProcess;
  readonly #waiters = new Set<() => void>();
  #exit: string | undefined;

  readonly name: string;
  readonly #stopSignal: NodeJS.Signals | undefined;

  /** `stopSignal`: how to end a peer that does not exit when its stdin closes (nginx, HAProxy). */
  constructor(name: string, command: string, args: readonly string[], stopSignal?: NodeJS.Signals) {
    this.name = name;
    this.#stopSignal = stopSignal;
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.#child = child;
    let partial = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop()!;
      for (const line of lines) {
        if (line === '') continue;
        try {
          this.events.push(JSON.parse(line) as PeerEvent);
        } catch {
          this.stderr.push(`(stdout) ${line}`);
        }
      }
      this.#wake();
    });
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr.push(chunk);
    });
    child.on('error', (error) => {
      this.#exit = `${name} could not start: ${error.message}`;
      this.#wake();
    });
    child.on('exit', (code, signal) => {
      this.#exit ??= `${name} exited (code ${code}, signal ${signal}): ${this.stderr.join('').slice(-2000)}`;
      this.#wake();
    });
  }

  /** The first event (from index `from`) matching `test`; rejects on exit or after `timeoutMs`. */
  waitFor(test: (e: PeerEvent) => boolean, timeoutMs = 10_000, from = 0): Promise<PeerEvent> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const found = this.events.slice(from).find(test);
        if (found !== undefined) {
          done();
          resolve(found);
          return true;
        }
        if (this.#exit !== undefined) {
          done();
          reject(new Error(this.#exit));
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${this.name}: no matching event in ${timeoutMs} ms; saw ${JSON.stringify(this.events)}; stderr ${this.stderr.join('')}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(waiter);
      };
      const waiter = () => void check();
      if (!check()) this.#waiters.add(waiter);
    });
  }

  /** Waits for an event named `event`. */
  next(event: string, timeoutMs?: number, from?: number): Promise<PeerEvent> {
    return this.waitFor((e) => e.event === event, timeoutMs, from);
  }

  /** The peer's exit, as a promise of its exit code. */
  exited(): Promise<number | null> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return Promise.resolve(this.#child.exitCode);
    return new Promise((resolve) => this.#child.once('exit', (code) => resolve(code)));
  }

  /** Ends the peer: closes its stdin (it exits by itself), then kills what is left. */
  async stop(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    const exit = this.exited();
    this.#child.stdin!.end();
    if (this.#stopSignal !== undefined) this.#child.kill(this.#stopSignal);
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 3_000);
    await exit;
    clearTimeout(timer);
  }

  #wake(): void {
    for (const waiter of [...this.#waiters]) waiter();
  }
}

/** A server-mode relay's port, once it says it listens. */
export async function listening(peer: Peer): Promise<number> {
  return (await peer.next('listening', 30_000)).port as number;
}

function missing(what: string, apt: string, detail: string): Error {
  return new Error(`${what} is not available here (${detail}); install it with: apt-get install -y ${apt}`);
}

const GO_APT = 'golang-go golang-google-grpc-dev golang-google-protobuf-dev golang-opentelemetry-otel-dev';

let goBinary: string | undefined;

/**
 * Builds the Go relay once per source hash (GOPATH mode over the Debian source tree, no
 * network) and returns the binary's path.
 */
export function goRelayBinary(): string {
  if (goBinary !== undefined) return goBinary;
  const files = readdirSync(GO_SRC).filter((f) => f.endsWith('.go')).sort();
  const hash = createHash('sha256');
  for (const f of files) hash.update(f).update(readFileSync(join(GO_SRC, f)));
  const dir = join(tmpdir(), `ctxkit-interop-go-${hash.digest('hex').slice(0, 16)}`);
  const binary = join(dir, 'relay');
  if (!existsSync(binary)) {
    for (const pkg of ['google.golang.org/grpc', 'google.golang.org/protobuf', 'go.opentelemetry.io/otel/sdk']) {
      if (!existsSync(join(GOPATH, 'src', pkg))) throw missing('The Go peer', GO_APT, `${join(GOPATH, 'src', pkg)} is missing`);
    }
    mkdirSync(dir, { recursive: true });
    const partial = `${binary}.${process.pid}`;
    try {
      execFileSync('go', ['build', '-o', partial, '.'], {
        cwd: GO_SRC,
        env: { ...process.env, GOPATH, GO111MODULE: 'off', GOFLAGS: '', GOCACHE: join(tmpdir(), 'ctxkit-interop-gocache') },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch (error) {
      const e = error as NodeJS.ErrnoException & { stderr?: Buffer };
      if (e.code === 'ENOENT') throw missing('The Go peer', GO_APT, '`go` is not on PATH');
      throw new Error(`go build of the Go relay failed: ${e.stderr?.toString() ?? e.message}`);
    }
    renameSync(partial, binary); // atomic: a parallel run never starts a half-written binary
  }
  goBinary = binary;
  return binary;
}

let pyStubs: string | undefined;

/** Generates the Python stubs of relay.proto once per run and returns their directory. */
export function pythonStubs(): string {
  if (pyStubs !== undefined) return pyStubs;
  if (!existsSync(PYTHON)) throw missing('The Python peer', 'python3 python3-grpcio python3-grpc-tools', `${PYTHON} is missing`);
  const dir = join(tmpdir(), `ctxkit-interop-py-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  try {
    execFileSync(PYTHON, ['-m', 'grpc_tools.protoc', `-I${join(INTEROP_DIR, 'api')}`, `--python_out=${dir}`, `--grpc_python_out=${dir}`, PROTO], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (error) {
    const e = error as { stderr?: Buffer; message: string };
    throw missing('The Python peer', 'python3-grpcio python3-grpc-tools', e.stderr?.toString().trim() || e.message);
  }
  pyStubs = dir;
  return dir;
}

/** Starts the Go relay in server mode; `next` is the downstream target, if any. */
export async function startGoRelay(args: readonly string[]): Promise<{ peer: Peer; port: number }> {
  const peer = new Peer('go relay', goRelayBinary(), ['serve', ...args]);
  return { peer, port: await listening(peer) };
}

/** Runs the Go relay's client mode once; resolves with its result event. */
export async function goCall(args: readonly string[]): Promise<{ peer: Peer; result: PeerEvent }> {
  const peer = new Peer('go client', goRelayBinary(), ['call', ...args]);
  const result = await peer.next('result', 20_000);
  await peer.stop();
  return { peer, result };
}

/** Starts the Python relay in front of `next`. */
export async function startPythonRelay(next: string): Promise<{ peer: Peer; port: number }> {
  const peer = new Peer('python relay', PYTHON, [PY_RELAY, pythonStubs(), next]);
  return { peer, port: await listening(peer) };
}

/** A port free right now on 127.0.0.1, for peers (nginx, HAProxy) that cannot listen on port 0. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Resolves the path of a system binary, or fails saying which package to install. */
export function systemBinary(name: string, apt: string): string {
  for (const dir of ['/usr/sbin', '/usr/bin', '/usr/local/sbin', '/usr/local/bin']) {
    const path = join(dir, name);
    if (existsSync(path)) return path;
  }
  throw missing(name, apt, `no ${name} binary in /usr/sbin or /usr/bin`);
}
