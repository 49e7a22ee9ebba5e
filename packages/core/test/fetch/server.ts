/**
 * A real node:http server on 127.0.0.1 for the outgoing-call tests: it records what arrives and
 * can hold a request open, so that tests can watch a client give up.
 */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request as the server saw it. */
export interface Seen {
  readonly path: string;
  readonly headers: http.IncomingHttpHeaders;
  /** Header names exactly as they came on the wire. */
  readonly rawNames: readonly string[];
  /** Resolves when the client went away before the response finished. */
  readonly gone: Promise<void>;
}

export interface TestServer {
  readonly url: string;
  readonly seen: Seen[];
  /** Resolves with the next request to arrive (bounded). */
  nextRequest(ms?: number): Promise<Seen>;
  close(): Promise<void>;
}

/**
 * Routes: `/echo` answers its request headers as JSON; `/method` its method, body and headers;
 * `/redirect/<status>?to=<url>` redirects, `/loop` to itself; `/empty` 204; `/big` 1 MB; `/hang` never answers;
 * `/stall` sends headers and one chunk, then never ends the body.
 */
export async function startServer(): Promise<TestServer> {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    const path = req.url ?? '/';
    const rawNames = req.rawHeaders.filter((_, i) => i % 2 === 0);
    const gone = new Promise<void>((resolve) => {
      res.on('close', () => {
        if (!res.writableFinished) resolve();
      });
    });
    gone.catch(() => {});
    const entry: Seen = { path, headers: req.headers, rawNames, gone };
    seen.push(entry);
    server.emit('seen', entry);
    if (path === '/echo') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(req.headers));
    } else if (path === '/empty') {
      res.statusCode = 204;
      res.end();
    } else if (path === '/big') {
      res.end(Buffer.alloc(1 << 20, 120));
    } else if (path === '/stall') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first chunk');
    } else if (path.startsWith('/redirect/')) {
      // /redirect/<status>?to=<url>: a redirect, with a body for the client to discard.
      const at = new URL(path, 'http://self');
      res.writeHead(Number(at.pathname.slice('/redirect/'.length)), { location: at.searchParams.get('to') ?? '/echo' });
      res.end('moved');
    } else if (path === '/loop') {
      res.writeHead(302, { location: '/loop' });
      res.end();
    } else if (path === '/method') {
      // The method, the body and the headers that arrived.
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ method: req.method, body: Buffer.concat(chunks).toString('utf8'), headers: req.headers }));
      });
    } else if (path !== '/hang') {
      res.end('ok');
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    async nextRequest(ms = 5000) {
      const [entry] = await once(server, 'seen', { signal: AbortSignal.timeout(ms) });
      return entry as Seen;
    },
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

/** Resolves or rejects with `promise`, or rejects after `ms` naming `what`; never leaves a timer. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The rejection reason of `promise`; fails when it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

/** Number of ref'd timers alive in this process. */
export function activeTimers(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
}

/** Waits until the event loop ran pending callbacks (nextTick, microtasks, immediates). */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
