import { type IncomingHttpHeaders, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { INestApplication, INestMicroservice, LoggerService } from '@nestjs/common';

export const protoPath = fileURLToPath(new URL('./fixtures/probe.proto', import.meta.url));

/** Everything a test opened, closed in afterEach. */
const open: Array<() => Promise<unknown>> = [];

export async function closeAll(): Promise<void> {
  while (open.length > 0) await open.pop()!();
}

export function onClose(fn: () => Promise<unknown>): void {
  open.push(fn);
}

/** Listens on 127.0.0.1, an ephemeral port, until {@link closeAll}. */
export async function listen(app: INestApplication): Promise<number> {
  await app.listen(0, '127.0.0.1');
  onClose(() => app.close());
  return (app.getHttpServer().address() as AddressInfo).port;
}

export async function listenMicroservice(app: INestMicroservice): Promise<void> {
  await app.listen();
  onClose(() => app.close());
}

export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  json(): any;
}

/** One real HTTP request on its own connection. */
export function call(port: number, path: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode!, headers: res.headers, body, json: () => JSON.parse(body) });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Sends a request and destroys its socket once `started` resolves (the handler is running). */
export async function callAndHangUp(port: number, path: string, started: Promise<unknown>): Promise<void> {
  const req = httpRequest({ host: '127.0.0.1', port, path, agent: false });
  req.on('error', () => {});
  req.end();
  await started;
  const closed = new Promise((resolve) => req.once('close', resolve));
  req.destroy();
  await closed;
}

/** A W3C traceparent for a fresh random trace id, and that id. */
export function traceparent(): { header: string; traceId: string } {
  const traceId = Array.from({ length: 32 }, () => Math.floor(Math.random() * 16).toString(16)).join('');
  return { header: `00-${traceId}-${'1'.repeat(16)}-01`, traceId };
}

export interface LogLine {
  readonly level: 'log' | 'error' | 'warn' | 'debug' | 'verbose' | 'fatal';
  readonly text: string;
  /** What came after the message, as given: Nest's ConsoleLogger takes the last string as the context and prints each other one on a line of its own. */
  readonly params: readonly unknown[];
}

/** A Nest logger that keeps every line, so tests can say what was logged at which level. */
export class CaptureLogger implements LoggerService {
  readonly lines: LogLine[] = [];
  #waiters: Array<{ match: (line: LogLine) => boolean; resolve: () => void }> = [];

  log(message: unknown, ...rest: unknown[]): void {
    this.#add('log', message, rest);
  }
  error(message: unknown, ...rest: unknown[]): void {
    this.#add('error', message, rest);
  }
  warn(message: unknown, ...rest: unknown[]): void {
    this.#add('warn', message, rest);
  }
  debug(message: unknown, ...rest: unknown[]): void {
    this.#add('debug', message, rest);
  }
  verbose(message: unknown, ...rest: unknown[]): void {
    this.#add('verbose', message, rest);
  }
  fatal(message: unknown, ...rest: unknown[]): void {
    this.#add('fatal', message, rest);
  }

  /** Resolves once a line matching `match` has been logged (already, or later). */
  waitFor(match: (line: LogLine) => boolean): Promise<void> {
    if (this.lines.some(match)) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ match, resolve }));
  }

  /** Lines at `level` (the startup chatter of Nest's own loggers aside). */
  at(level: LogLine['level']): LogLine[] {
    return this.lines.filter((l) => l.level === level);
  }

  #add(level: LogLine['level'], message: unknown, rest: unknown[]): void {
    const parts = [message, ...rest].map((p) => (p instanceof Error ? `${p.name}: ${p.message}\n${p.stack}` : String(p)));
    const line = { level, text: parts.join(' '), params: rest };
    this.lines.push(line);
    this.#waiters = this.#waiters.filter((w) => {
      if (!w.match(line)) return true;
      w.resolve();
      return false;
    });
  }
}

/** Rejects when `promise` takes longer than `ms`: every wait in these tests is bounded. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
