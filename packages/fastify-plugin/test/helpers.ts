import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, request as httpRequest, type Server } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { currentContext } from '@ctxkit/core';
import { injectContext, recordCarrier } from '@ctxkit/core/adapter';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { ctxkit, type CtxkitFastifyOptions } from '../src/index.js';

/** Everything a test opened, closed in afterEach. */
const open: Array<() => Promise<unknown>> = [];

export async function closeAll(): Promise<void> {
  while (open.length > 0) await open.pop()!();
}

/** Log lines written by a Fastify app, parsed. */
export class LogSink extends Writable {
  readonly lines: Record<string, unknown>[] = [];
  override _write(chunk: Buffer, _enc: string, cb: () => void): void {
    for (const line of chunk.toString('utf8').split('\n')) if (line !== '') this.lines.push(JSON.parse(line));
    cb();
  }
  /** Resolves with the first line matching `test`, waiting at most `ms`. */
  async waitFor(test: (line: Record<string, unknown>) => boolean, ms = 5000): Promise<Record<string, unknown>> {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = this.lines.find(test);
      if (found !== undefined) return found;
      if (Date.now() > deadline) throw new Error('log line not written in time');
      await new Promise((r) => setTimeout(r, 5));
    }
  }
}

/**
 * A Fastify app with the plugin registered, listening on 127.0.0.1 once `listen` is called. Its
 * log lines (at `logLevel`, default info) go to the returned sink.
 */
export async function makeApp(
  options: CtxkitFastifyOptions = {},
  fastifyOptions: FastifyServerOptions = {},
  before?: (app: FastifyInstance) => void | Promise<void>,
  logLevel = 'info',
): Promise<{ app: FastifyInstance; log: LogSink }> {
  const log = new LogSink();
  const app = Fastify({ logger: { level: logLevel, stream: log }, ...fastifyOptions });
  open.push(() => app.close());
  if (before !== undefined) await before(app);
  await app.register(ctxkit, options);
  return { app, log };
}

export async function listen(app: FastifyInstance): Promise<number> {
  await app.listen({ host: '127.0.0.1', port: 0 });
  return (app.server.address() as AddressInfo).port;
}

// The HTTP request helper is shared with the other adapters' tests.
export { type Answer, call } from '@ctxkit/test-support';

/** Sends raw bytes (hostile headers Node's client refuses to write) and returns the raw answer. */
export async function rawCall(port: number, head: Buffer): Promise<string> {
  const socket = connect(port, '127.0.0.1');
  open.push(async () => socket.destroy());
  await once(socket, 'connect');
  // write, not end: a half-closed request is an aborted one to Node's HTTP server.
  // `Connection: close` in `head` makes the server close the socket after answering.
  socket.write(head);
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  await once(socket, 'close');
  return Buffer.concat(chunks).toString('latin1');
}

/** Status line, headers (lowercased names) and body of a raw HTTP/1.1 answer. */
export function parseRaw(text: string): { status: number; headers: Map<string, string[]>; body: string } {
  const [head = '', body = ''] = text.split('\r\n\r\n');
  const [statusLine = '', ...lines] = head.split('\r\n');
  const headers = new Map<string, string[]>();
  for (const line of lines) {
    const i = line.indexOf(':');
    const name = line.slice(0, i).toLowerCase();
    headers.set(name, [...(headers.get(name) ?? []), line.slice(i + 1).trim()]);
  }
  return { status: Number(statusLine.split(' ')[1]), headers, body };
}

/** A local node:http server standing for a downstream service: answers with the headers it got. */
export async function startDownstream(): Promise<{ port: number; server: Server }> {
  const server = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(req.headers));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  open.push(() => new Promise((r) => server.close(r)));
  return { port: (server.address() as AddressInfo).port, server };
}

/**
 * Calls the downstream service with the current context injected by core, as the fetch and
 * gRPC adapters will; returns the headers the service received.
 */
export function callDownstream(port: number): Promise<IncomingHttpHeaders> {
  const headers: Record<string, string> = {};
  injectContext(currentContext(), recordCarrier, headers);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path: '/', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString('utf8'))));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

export const W3C_TRACE_ID = /^[0-9a-f]{32}$/;
