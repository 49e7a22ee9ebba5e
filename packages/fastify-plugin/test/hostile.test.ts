import type { Drop } from '@ctxkit/core';
import { afterEach, describe, expect, it } from 'vitest';
import { call, callDownstream, closeAll, listen, makeApp, parseRaw, rawCall, startDownstream, W3C_TRACE_ID } from './helpers.js';

afterEach(closeAll);

const VALID_ID = /^[\x21-\x2b\x2d-\x7e]{1,128}$/;

async function hostileApp(fastifyOptions: Parameters<typeof makeApp>[1] = {}) {
  const drops: Drop[] = [];
  const downstream = await startDownstream();
  let handled = 0;
  const { app } = await makeApp({ onDrop: (d) => drops.push(d), defaultTimeoutMs: 5000 }, fastifyOptions);
  app.get('/h', async (request) => {
    handled++;
    return { ctx: { trace: request.ctx.traceId, request: request.ctx.requestId, user: request.ctx.userId ?? null }, downstream: await callDownstream(downstream.port) };
  });
  const port = await listen(app);
  return {
    drops,
    handled: () => handled,
    /** Sends `headerLines` (raw bytes, latin1) and returns the parsed answer. */
    send: async (headerLines: string) =>
      parseRaw(await rawCall(port, Buffer.from(`GET /h HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${headerLines}\r\n`, 'latin1'))),
  };
}

/**
 * Served, with fresh valid ids echoed once each, and only valid context sent downstream.
 * `hostile` must hold a non-hex letter: fresh ids are random hex and could contain e.g. 'caf'.
 */
function expectCleanAnswer(answer: ReturnType<typeof parseRaw>, hostile: string): void {
  expect(answer.status).toBe(200);
  const traceIds = answer.headers.get('trace-id') ?? [];
  const requestIds = answer.headers.get('request-id') ?? [];
  expect(traceIds).toHaveLength(1);
  expect(requestIds).toHaveLength(1);
  expect(traceIds[0]).toMatch(W3C_TRACE_ID);
  expect(requestIds[0]).toMatch(VALID_ID);
  const body = JSON.parse(answer.body);
  expect(body.ctx.trace).toBe(traceIds[0]);
  const sent = body.downstream as Record<string, string>;
  expect(sent['trace-id']).toBe(traceIds[0]);
  expect(sent['request-id']).toBe(requestIds[0]);
  expect(sent['user-id']).toBeUndefined();
  for (const value of Object.values(sent)) expect(value).not.toContain(hostile);
  expect(answer.body).not.toContain(hostile);
}

describe('hostile headers: request served, values dropped, nothing invalid echoed or forwarded', () => {
  it('a 10 KB trace id', async () => {
    const h = await hostileApp();
    const big = 'a'.repeat(10 * 1024);
    expectCleanAnswer(await h.send(`trace-id: ${big}\r\n`), big);
    expectCleanAnswer(await h.send(`user-id: ${big}\r\nrequest-timeout-ms: 1${"0".repeat(3000)}\r\n`), big);
    expect(h.drops.map((d) => [d.key, d.reason])).toEqual([
      ['trace-id', 'longer than 128 characters'],
      ['request-timeout-ms', 'malformed timeout (integer milliseconds expected)'],
    ]);
    expect(h.drops.every((d) => (d.value ?? '').length < 64)).toBe(true);
  });

  it('non-ASCII (latin1) bytes', async () => {
    const h = await hostileApp();
    expectCleanAnswer(await h.send('trace-id: qz\xe9-0123456789\r\n'), 'qz');
    expect(h.drops.map((d) => [d.key, d.reason])).toEqual([['trace-id', 'not printable ASCII (or blank at an end)']]);
  });

  it('control characters Node lets through with insecureHTTPParser', async () => {
    const h = await hostileApp({ http: { insecureHTTPParser: true } } as never);
    expectCleanAnswer(await h.send('trace-id: qzx\x01def\r\nx-request-id: q\x00r\r\n'), 'qzx');
    expect(h.drops.map((d) => d.key).sort()).toEqual(['trace-id', 'x-request-id']); // both, in either order
    // Drop values are escaped, safe to log.
    expect(h.drops.every((d) => [...(d.value ?? '')].every((c) => c >= ' ' && c <= '~'))).toBe(true);
  });

  it('CR/LF inside a value: refused by Node before Fastify, nothing echoed', async () => {
    const h = await hostileApp({ http: { insecureHTTPParser: true } } as never);
    const answer = await h.send('trace-id: abc\rinjected: 1\r\n');
    expect(answer.status).toBe(400);
    expect(answer.headers.has('trace-id')).toBe(false);
    expect(answer.headers.has('injected')).toBe(false);
    expect(h.handled()).toBe(0);
  });

  it('uppercase duplicates of a header', async () => {
    const h = await hostileApp();
    const a = '0af7651916cd43dd8448eb211c80319c';
    const b = '4bf92f3577b34da6a3ce929d0e0e4736';
    expectCleanAnswer(await h.send(`Trace-Id: ${a}\r\nTRACE-ID: ${b}\r\nRequest-Timeout-Ms: 100\r\nrequest-timeout-ms: 200\r\n`), a);
    expect(h.drops.map((d) => d.key).sort()).toEqual(['request-timeout-ms', 'trace-id']);
  });

  it('a malformed traceparent', async () => {
    const h = await hostileApp();
    for (const tp of ['00-zzzz-00f067aa0ba902b7-01', '00-00000000000000000000000000000000-00f067aa0ba902b7-01', 'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', `00-${'a'.repeat(5000)}`]) {
      expectCleanAnswer(await h.send(`traceparent: ${tp}\r\n`), tp.slice(3, 15));
    }
    expect(h.drops.map((d) => d.key)).toEqual(['traceparent', 'traceparent', 'traceparent', 'traceparent']);
  });

  it("an id taken by Fastify's requestIdHeader stays Fastify's: a client does not name the chain's request", async () => {
    const h = await hostileApp({ requestIdHeader: 'x-req' });
    const hostile = await h.send('x-req: qz\xe9 id\r\n');
    expectCleanAnswer(hostile, 'qz');
    const valid = await h.send('x-req: upstream-7\r\n');
    const [requestId] = valid.headers.get('request-id')!;
    expect(requestId).toMatch(VALID_ID);
    expect(requestId).not.toBe('upstream-7');
    expect(JSON.parse(valid.body).downstream['request-id']).toBe(requestId);
    expect(h.drops).toEqual([]);
  });

  it('onDrop gets the Fastify request and the ids the reply echoes', async () => {
    const seen: unknown[] = [];
    const { app } = await makeApp({
      onDrop: (drop, request) => seen.push([drop.key, drop.traceId, drop.requestId, request.url, request.ctx]),
    });
    app.get('/d', async () => ({}));
    const port = await listen(app);
    const answer = await call(port, '/d?q=1', { headers: { traceparent: 'nope', 'request-timeout-ms': '-1' } });
    const [traceId, requestId] = [answer.headers['trace-id'], answer.headers['request-id']];
    expect(traceId).toMatch(W3C_TRACE_ID);
    // request.ctx is not set yet while the context is being built (the decorator's null).
    expect(seen).toEqual([
      ['traceparent', traceId, requestId, '/d?q=1', null],
      ['request-timeout-ms', traceId, requestId, '/d?q=1', null],
    ]);
  });
});
