import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { REFUSED_CHANNEL, type RefusedMessage, refusedRequests } from '@ctxkit/core/diagnostics';
import type { Request } from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { ctxkit, ctxkitErrorHandler, requireBudget } from '../src/index.js';
import { call, closeAll, listen, majors } from './helpers.js';

afterEach(async () => {
  await closeAll();
  refusedRequests(true);
});

describe.each(majors)('%s: requireBudget', (_name, express) => {
  async function serve(options: Parameters<typeof ctxkit>[0] = {}) {
    const app = express();
    const ran = { parsed: 0, report: 0, named: 0 };
    app.use(ctxkit(options));
    const countParse: import('express').RequestHandler = (_req, _res, next) => {
      ran.parsed++;
      next();
    };
    app.post('/report/:id', requireBudget(5_000), countParse, express.json(), (_req, res) => {
      ran.report++;
      res.json({ ok: true });
    });
    app.get('/named', requireBudget(10_000, { name: 'reports' }), (_req, res) => {
      ran.named++;
      res.json({ ok: true });
    });
    app.use(ctxkitErrorHandler());
    return { ran, port: (await listen(app)).port };
  }

  const json = { 'content-type': 'application/json' };

  it('refuses a request below the budget with 504 before the handlers after it, counted by route pattern', async () => {
    const { ran, port } = await serve();
    const answer = await call(port, '/report/7', { method: 'POST', headers: { ...json, 'request-timeout-ms': '2000' }, body: '{}' });
    expect(answer.status).toBe(504);
    expect(answer.json()).toEqual({
      code: 'DEADLINE_EXCEEDED',
      message: 'deadline exceeded: not enough time left to serve this request',
      traceId: answer.headers['trace-id'],
    });
    expect(ran).toEqual({ parsed: 0, report: 0, named: 0 });
    expect((await call(port, '/named', { headers: { 'request-timeout-ms': '3000' } })).status).toBe(504);
    expect(refusedRequests()).toEqual({ 'POST /report/:id': 1, reports: 1 });
  });

  it('admits enough budget and no deadline at all; the edge default and clamp count', async () => {
    const { ran, port } = await serve({ maxTimeoutMs: 2_000 });
    // 10 s asked, clamped to 2 s: below the 5 s the route needs.
    expect((await call(port, '/report/1', { method: 'POST', headers: { ...json, 'request-timeout-ms': '10000' }, body: '{}' })).status).toBe(504);
    expect(ran.report).toBe(0);
    const open = await serve();
    expect((await call(open.port, '/named', { headers: { 'request-timeout-ms': '60000' } })).status).toBe(200);
    expect((await call(open.port, '/report/1', { method: 'POST', headers: json, body: '{}' })).status).toBe(200);
    expect(open.ran).toMatchObject({ named: 1, report: 1 });
    expect(refusedRequests()).toEqual({ 'POST /report/:id': 1 });
  });

  it('publishes each refusal with the Express request', async () => {
    const { port } = await serve();
    const seen: RefusedMessage[] = [];
    const onMessage = (m: unknown) => seen.push(m as RefusedMessage);
    subscribe(REFUSED_CHANNEL, onMessage);
    try {
      await call(port, '/named', { headers: { 'request-timeout-ms': '3000' } });
      expect(seen).toHaveLength(1);
      expect(seen[0]).toMatchObject({ what: 'reports', minBudgetMs: 10_000 });
      expect((seen[0]!.origin as Request).originalUrl).toBe('/named');
    } finally {
      unsubscribe(REFUSED_CHANNEL, onMessage);
    }
  });

  it('without the ctxkit middleware before it, fails the request with NoContextError (500), not a crash', async () => {
    const app = express();
    app.get('/x', requireBudget(10), (_req, res) => res.end('ran'));
    app.use(ctxkitErrorHandler({ logger: false }));
    const answer = await call((await listen(app)).port, '/x');
    expect(answer.status).toBe(500);
    expect(answer.json().code).toBe('INTERNAL');
  });
});

describe('requireBudget options', () => {
  it('throws at creation for a negative or non-finite budget', () => {
    expect(() => requireBudget(-1)).toThrowErrorMatchingInlineSnapshot(
      `[RangeError: ctxkit: minBudgetMs of requireBudget() must be a finite number of milliseconds >= 0, got -1]`,
    );
    expect(() => requireBudget(Number.POSITIVE_INFINITY, { name: 'r' })).toThrow(RangeError);
  });
});
