import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { nodeHeadersGetter } from './carrier.js';
import { CancelledError } from './errors.js';
import { compileExtractor } from './extract.js';
import { createContext, runWithContext } from './index.js';
import { createFetch } from './fetch.js';

// A real server on 127.0.0.1 that fails as asked: `/fail/<n>` answers 503 to the first n
// attempts of each trace, `/pushback` answers 503 with `retry-pushback-ms`.
let server: Server;
let url: string;
let seen: IncomingHttpHeaders[] = [];
let firstSeen = Promise.withResolvers<void>();
const attemptsOf = new Map<string, number>();

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push(req.headers);
    firstSeen.resolve();
    const trace = String(req.headers['trace-id']);
    const n = (attemptsOf.get(trace) ?? 0) + 1;
    attemptsOf.set(trace, n);
    const fail = /^\/fail\/(\d+)$/.exec(req.url ?? '');
    if (fail !== null && n <= Number(fail[1])) return void res.writeHead(503).end('down');
    if (req.url === '/pushback') return void res.writeHead(503, { 'retry-pushback-ms': String(req.headers['x-pushback']) }).end('later');
    res.end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
beforeEach(() => {
  seen = [];
  firstSeen = Promise.withResolvers<void>();
});

const retrying = createFetch({ retry: { maxAttempts: 3, initialBackoffMs: 1, maxBackoffMs: 2 }, missingContext: 'ignore' });

function inContext<T>(fn: () => Promise<T>, timeoutMs = 5_000): Promise<T> {
  const ctx = createContext({ timeoutMs });
  return runWithContext(ctx, fn).finally(() => ctx.end());
}

describe('fetch retries', () => {
  it('retries an idempotent request on 503 inside the budget, counting the attempt', async () => {
    const res = await inContext(() => retrying(`${url}/fail/2`));
    expect(await res.text()).toBe('ok');
    expect(seen.map((h) => h['request-attempt'])).toEqual([undefined, '1', '2']);
    for (const h of seen) expect(Number(h['request-timeout-ms'])).toBeLessThanOrEqual(5_000);
  });

  it('returns the last failure once the attempts are spent', async () => {
    const res = await inContext(() => retrying(`${url}/fail/9`));
    expect(res.status).toBe(503);
    expect(seen).toHaveLength(3);
  });

  it('does not retry POST by default, nor a body that is a stream', async () => {
    const post = await inContext(() => retrying(`${url}/fail/1`, { method: 'POST', body: 'x' }));
    expect(post.status).toBe(503);
    const body = new ReadableStream({
      start(c) {
        c.enqueue(new TextEncoder().encode('x'));
        c.close();
      },
    });
    const put = await inContext(() => retrying(`${url}/fail/1`, { method: 'PUT', body, duplex: 'half' } as RequestInit));
    expect(put.status).toBe(503);
    expect(seen).toHaveLength(2);
  });

  it('makes one attempt for a request that is itself a retry, and obeys pushback -1', async () => {
    const extract = compileExtractor();
    const ctx = extract(nodeHeadersGetter, { 'request-attempt': '1' });
    const res = await runWithContext(ctx, () => retrying(`${url}/fail/1`));
    ctx.end();
    expect(res.status).toBe(503);
    const pushed = await inContext(() => retrying(`${url}/pushback`, { headers: { 'x-pushback': '-1' } }));
    expect(pushed.status).toBe(503);
    expect(seen).toHaveLength(2);
  });

  it('stops at once when the context is cancelled during a backoff', async () => {
    const ctx = createContext({ timeoutMs: 20_000 });
    const pending = runWithContext(ctx, () => retrying(`${url}/pushback`, { headers: { 'x-pushback': '5000' } })).catch((e: unknown) => e);
    await firstSeen.promise;
    // The 503 has to reach the client first; then the 5 s backoff runs.
    await new Promise((r) => setTimeout(r, 50));
    const began = Date.now();
    ctx.cancel();
    expect(await pending).toBeInstanceOf(CancelledError);
    expect(Date.now() - began).toBeLessThan(1_000);
    expect(seen).toHaveLength(1);
    ctx.end();
  });
});
