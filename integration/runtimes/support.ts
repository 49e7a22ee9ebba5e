/** Real servers and clients on 127.0.0.1 for the conformance cases; nothing here is a double. */
import { once } from 'node:events';
import http, { type IncomingHttpHeaders, type Server } from 'node:http';
import net, { type AddressInfo } from 'node:net';

/** Listens on an ephemeral 127.0.0.1 port; returns the port. */
export async function listen(server: Server | net.Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

/** Closes a server and every connection it still has. */
export async function close(server: Server): Promise<void> {
  server.closeAllConnections?.();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

export interface Reply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** One HTTP request with node:http; resolves with the whole reply. */
export function request(port: number, path: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: init.method ?? 'GET', headers: init.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

/**
 * Sends a request on a raw socket and destroys the socket once `started` resolves (the server
 * saw the request): a real client disconnect, as a browser tab closing makes one.
 */
export async function hangUp(port: number, path: string, started: Promise<unknown>, headers: Record<string, string> = {}): Promise<void> {
  const socket = net.connect(port, '127.0.0.1');
  await once(socket, 'connect');
  const lines = [`GET ${path} HTTP/1.1`, 'host: 127.0.0.1', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
  socket.write(`${lines.join('\r\n')}\r\n\r\n`);
  socket.on('error', () => {}); // the server may reset a socket we are closing anyway
  await started;
  socket.destroy();
}

/** A promise with its resolver, for waiting on one event of a server. */
export function signal<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** A W3C traceparent for `traceId` (sampled, a fixed parent span). */
export function traceparent(traceId: string): string {
  return `00-${traceId}-00f067aa0ba902b7-01`;
}

/** A random valid W3C trace id. */
export function randomTraceId(): string {
  let id = '';
  for (let i = 0; i < 32; i++) id += '0123456789abcdef'[Math.floor(Math.random() * 16)];
  return id.startsWith('0'.repeat(32)) ? randomTraceId() : id;
}
