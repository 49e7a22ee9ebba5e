import { once } from 'node:events';
import { createServer, type Server, type ServerOptions } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import express5 from 'express';
import express4 from 'express4'; // npm alias of express@4, typed as Express (test/express4.d.ts)

export type ExpressModule = typeof express5;

/** Both Express majors, for `describe.each`. */
export const majors: Array<[string, ExpressModule]> = [
  ['express 4', express4],
  ['express 5', express5],
];

/** Everything a test opened, closed in afterEach. */
const open: Array<() => Promise<unknown>> = [];

export async function closeAll(): Promise<void> {
  while (open.length > 0) await open.pop()!();
}

/** Serves `app` on 127.0.0.1, on an ephemeral port, until {@link closeAll}. */
export async function listen(app: express5.Express, options: ServerOptions = {}): Promise<{ port: number; server: Server }> {
  const server = createServer(options, app);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  open.push(async () => {
    server.closeAllConnections();
    server.close();
    await once(server, 'close');
  });
  return { port: (server.address() as AddressInfo).port, server };
}

// The HTTP request helper is shared with the other adapters' tests.
export { type Answer, call } from '@ctxkit/test-support';

/** Writes raw bytes on a new socket and returns the raw answer (the server closes after it). */
export async function rawCall(port: number, bytes: Buffer | string): Promise<string> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  socket.end(bytes);
  await withTimeout(once(socket, 'close'), 5000, 'raw answer');
  return Buffer.concat(chunks).toString('latin1');
}

/** Rejects when `promise` takes longer than `ms`: every wait in these tests is bounded. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A promise resolved from outside, for events a handler reports to the test. */
export function deferred<T>(): { promise: Promise<T>; resolve(value: T): void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** 32 lowercase hex digits made from `n`: a valid, recognisable trace id. */
export function traceIdOf(n: number): string {
  return n.toString(16).padStart(32, '0');
}
