import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { REFUSED_CHANNEL, type RefusedMessage, refusedRequests } from '@ctxkit/core/diagnostics';
import type { FastifyRequest } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { call, closeAll, listen, makeApp } from './helpers.js';

afterEach(async () => {
  await closeAll();
  refusedRequests(true);
});

/** An app with one route that needs 200 ms and one that declares nothing; counts what ran. */
async function budgetApp(options: Parameters<typeof makeApp>[0] = {}) {
  const { app } = await makeApp(options);
  const ran = { hook: 0, parse: 0, report: 0, plain: 0 };
  app.addHook('onRequest', async () => {
    ran.hook++;
  });
  app.addHook('preParsing', async () => {
    ran.parse++;
  });
  app.post('/report', { config: { minBudgetMs: 200 } }, async () => {
    ran.report++;
    return { ok: true };
  });
  app.post('/plain', async () => {
    ran.plain++;
    return { ok: true };
  });
  return { app, ran, port: await listen(app) };
}

const json = { 'content-type': 'application/json' };

describe('route config minBudgetMs', () => {
  it('refuses a request whose budget is below it with 504, before any later hook, the body or the handler', async () => {
    const { ran, port } = await budgetApp();
    const answer = await call(port, '/report', { method: 'POST', headers: { ...json, 'request-timeout-ms': '50' }, body: '{"a":1}' });
    expect(answer.status).toBe(504);
    expect(answer.json()).toEqual({
      code: 'DEADLINE_EXCEEDED',
      message: 'deadline exceeded: not enough time left to serve this request',
      traceId: answer.headers['trace-id'],
    });
    expect(ran).toEqual({ hook: 0, parse: 0, report: 0, plain: 0 });
    expect(refusedRequests()).toEqual({ 'POST /report': 1 });
  });

  it('admits a request with enough budget, one without a deadline, and every request of a route without the option', async () => {
    const { ran, port } = await budgetApp();
    expect((await call(port, '/report', { method: 'POST', headers: { ...json, 'request-timeout-ms': '5000' }, body: '{}' })).status).toBe(200);
    expect((await call(port, '/report', { method: 'POST', headers: json, body: '{}' })).status).toBe(200);
    expect((await call(port, '/plain', { method: 'POST', headers: { ...json, 'request-timeout-ms': '1000' }, body: '{}' })).status).toBe(200);
    expect(ran).toEqual({ hook: 3, parse: 3, report: 2, plain: 1 });
    expect(refusedRequests()).toEqual({});
  });

  it('compares with the budget the edge applied: the default and the clamp count', async () => {
    const { ran, port } = await budgetApp({ defaultTimeoutMs: 100, maxTimeoutMs: 150 });
    expect((await call(port, '/report', { method: 'POST', headers: json, body: '{}' })).status).toBe(504);
    // Asked for 10 s, clamped to 150 ms: still below the 200 ms the route needs.
    expect((await call(port, '/report', { method: 'POST', headers: { ...json, 'request-timeout-ms': '10000' }, body: '{}' })).status).toBe(504);
    expect(ran.report).toBe(0);
    expect(refusedRequests()).toEqual({ 'POST /report': 2 });
  });

  it('keeps a keep-alive connection usable after a refusal with an unread body', async () => {
    const { ran, port } = await budgetApp();
    const agent = new (await import('node:http')).Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const send = (timeout: string) =>
        fetchOn(agent, port, '/report', { ...json, 'request-timeout-ms': timeout }, JSON.stringify({ pad: 'x'.repeat(10_000) }));
      expect(await send('10')).toBe(504);
      expect(await send('5000')).toBe(200);
      expect(ran.report).toBe(1);
    } finally {
      agent.destroy();
    }
  });

  it('publishes each refusal on REFUSED_CHANNEL with the Fastify request', async () => {
    const { port } = await budgetApp();
    const seen: RefusedMessage[] = [];
    const onMessage = (m: unknown) => seen.push(m as RefusedMessage);
    subscribe(REFUSED_CHANNEL, onMessage);
    try {
      const answer = await call(port, '/report', { method: 'POST', headers: { ...json, 'request-timeout-ms': '120' }, body: '{}' });
      expect(answer.status).toBe(504);
      expect(seen).toHaveLength(1);
      expect(seen[0]).toMatchObject({ what: 'POST /report', minBudgetMs: 200, traceId: answer.headers['trace-id'] });
      expect(seen[0]!.remainingMs).toBeLessThanOrEqual(120);
      expect((seen[0]!.origin as FastifyRequest).url).toBe('/report');
    } finally {
      unsubscribe(REFUSED_CHANNEL, onMessage);
    }
  });

  it('throws at route registration for a negative or non-finite value', async () => {
    const { app } = await makeApp();
    expect(() => app.get('/bad', { config: { minBudgetMs: -5 } }, async () => 'x')).toThrowErrorMatchingInlineSnapshot(
      `[RangeError: ctxkit: minBudgetMs of GET /bad must be a finite number of milliseconds >= 0, got -5]`,
    );
  });
});

/** One request on `agent` (a keep-alive connection), resolving with the status once the body is read. */
async function fetchOn(agent: import('node:http').Agent, port: number, path: string, headers: Record<string, string>, body: string): Promise<number> {
  const { request } = await import('node:http');
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', headers, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode!));
    });
    req.on('error', reject);
    req.end(body);
  });
}
