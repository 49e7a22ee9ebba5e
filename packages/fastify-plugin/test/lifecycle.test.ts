import { once } from 'node:events';
import { connect } from 'node:net';
import { CancelledError, currentContext, type Drop, type RequestContext } from '@ctxkit/core';
import { afterEach, describe, expect, it } from 'vitest';
import { call, closeAll, listen, makeApp, W3C_TRACE_ID } from './helpers.js';

afterEach(closeAll);

/** Resolves when `signal` aborts, or rejects after `ms`. */
function aborted(signal: AbortSignal, ms = 5000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`signal not aborted within ${ms} ms`)), ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve(signal.reason);
    }, { once: true });
  });
}

describe('client disconnect', () => {
  it('aborts the handler context with CancelledError and logs 499 with the ids', async () => {
    const { app, log } = await makeApp();
    let started!: (ctx: RequestContext) => void;
    const inHandler = new Promise<RequestContext>((r) => { started = r; });
    let outcome: Promise<unknown> | undefined;
    app.get('/slow', async (request) => {
      outcome = aborted(currentContext().signal);
      started(request.ctx);
      await outcome.catch(() => undefined);
      return { late: true };
    });
    const port = await listen(app);
    const socket = connect(port, '127.0.0.1');
    await once(socket, 'connect');
    socket.write('GET /slow HTTP/1.1\r\nHost: x\r\ntrace-id: 4bf92f3577b34da6a3ce929d0e0e4736\r\n\r\n');
    const ctx = await inHandler;
    socket.destroy();
    const reason = await outcome;
    expect(reason).toBeInstanceOf(CancelledError);
    const line = await log.waitFor((l) => l.statusCode === 499);
    expect(line).toMatchObject({
      msg: 'client disconnected',
      'trace-id': '4bf92f3577b34da6a3ce929d0e0e4736',
      'request-id': ctx.requestId,
    });
  });

  it('with logger: false a disconnect still aborts the context (only the 499 line is skipped)', async () => {
    const { app } = await makeApp({}, { logger: false });
    const handled = Promise.withResolvers<AbortSignal>();
    app.get('/slow', async (request) => {
      handled.resolve(request.ctx.signal);
      await aborted(request.ctx.signal).catch(() => undefined);
      return { late: true };
    });
    const port = await listen(app);
    const socket = connect(port, '127.0.0.1');
    await once(socket, 'connect');
    socket.write('GET /slow HTTP/1.1\r\nHost: x\r\n\r\n');
    const signal = await handled.promise;
    socket.destroy();
    expect(await aborted(signal)).toBeInstanceOf(CancelledError);
  });

  it('does not abort nor log 499 for a POST whose body was read and answered', async () => {
    const { app, log } = await makeApp();
    let signal: AbortSignal | undefined;
    app.post('/ok', async (request) => {
      signal = request.ctx.signal;
      return { ok: true };
    });
    const port = await listen(app);
    const res = await call(port, '/ok', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}' });
    expect(res.status).toBe(200);
    await log.waitFor((l) => l.msg === 'request completed');
    expect(signal?.aborted).toBe(false);
    expect(log.lines.some((l) => l.statusCode === 499)).toBe(false);
  });

  it('fastify.inject(): an answered request is not a disconnect (light-my-request never flushes a socket)', async () => {
    const { app, log } = await makeApp();
    let ctx: RequestContext | undefined;
    app.route({
      method: ['GET', 'POST'],
      url: '/ok',
      handler: async (request) => {
        ctx = request.ctx;
        return { ok: true };
      },
    });
    for (const res of [await app.inject('/ok'), await app.inject({ method: 'POST', url: '/ok', payload: { a: 1 } })]) {
      expect(res.json()).toEqual({ ok: true });
    }
    // light-my-request emits the response's 'close' on the next tick after 'finish'.
    await new Promise((resolve) => setImmediate(resolve));
    expect(ctx!.signal.aborted).toBe(false);
    expect(log.lines.filter((l) => l.msg === 'request completed')).toHaveLength(2);
    expect(log.lines.some((l) => l.statusCode === 499 || l.msg === 'client disconnected')).toBe(false);
  });
});

describe('deadlines', () => {
  function budgetApp(options: Parameters<typeof makeApp>[0], fastifyOptions?: Parameters<typeof makeApp>[1]) {
    return makeApp(options, fastifyOptions).then(async ({ app, log }) => {
      app.get('/budget', async (request) => ({ remaining: request.ctx.remainingMs(), deadline: request.ctx.deadline ?? null }));
      return { port: await listen(app), log, app };
    });
  }

  it('applies defaultTimeoutMs when the client sends none', async () => {
    const { port } = await budgetApp({ defaultTimeoutMs: 2000 });
    const body = (await call(port, '/budget')).json();
    expect(body.remaining).toBeGreaterThan(1000);
    expect(body.remaining).toBeLessThanOrEqual(2000);
  });

  it('has no deadline without options or header', async () => {
    const { port } = await budgetApp({});
    expect((await call(port, '/budget')).json().deadline).toBeNull();
  });

  it('honours a shorter client timeout and clamps a longer one to maxTimeoutMs', async () => {
    const { port } = await budgetApp({ defaultTimeoutMs: 2000, maxTimeoutMs: 5000 });
    const short = (await call(port, '/budget', { headers: { 'request-timeout-ms': '1500' } })).json();
    expect(short.remaining).toBeLessThanOrEqual(1500);
    expect(short.remaining).toBeGreaterThan(500);
    const long = (await call(port, '/budget', { headers: { 'request-timeout-ms': '600000' } })).json();
    expect(long.remaining).toBeLessThanOrEqual(5000);
    expect(long.remaining).toBeGreaterThan(4000);
  });

  it('drops a malformed timeout header with a reason; the default applies', async () => {
    const drops: Drop[] = [];
    const { port } = await budgetApp({ defaultTimeoutMs: 2000, onDrop: (d) => drops.push(d) });
    for (const bad of ['abc', '-5', '1.5', '99999999999']) {
      const body = (await call(port, '/budget', { headers: { 'request-timeout-ms': bad } })).json();
      expect(body.remaining).toBeGreaterThan(1000);
      expect(body.remaining).toBeLessThanOrEqual(2000);
    }
    expect(drops.map((d) => [d.key, d.reason])).toEqual([
      ['request-timeout-ms', 'malformed timeout (integer milliseconds expected)'],
      ['request-timeout-ms', 'negative timeout'],
      ['request-timeout-ms', 'malformed timeout (integer milliseconds expected)'],
      ['request-timeout-ms', 'malformed timeout (integer milliseconds expected)'],
    ]);
  });

  it('answers 504 with the error body when the deadline passes before a reply', async () => {
    const { app, log } = await makeApp({ defaultTimeoutMs: 50 });
    let reason: Promise<unknown> | undefined;
    app.get('/stuck', async (request) => {
      reason = aborted(request.ctx.signal);
      await reason;
      return { never: 'sent' };
    });
    const port = await listen(app);
    const res = await call(port, '/stuck');
    expect(res.status).toBe(504);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.json()).toEqual({ code: 'DEADLINE_EXCEEDED', message: 'deadline exceeded', traceId: res.headers['trace-id'] });
    expect(res.headers['trace-id']).toMatch(W3C_TRACE_ID);
    expect((await reason as Error).name).toBe('DeadlineExceededError');
    await log.waitFor((l) => l.msg === 'request completed' && (l.res as { statusCode: number }).statusCode === 504);
  });

  it('after the 504, a handler that rejects or returns late is logged at debug only, not as an error', async () => {
    const { app, log } = await makeApp({ defaultTimeoutMs: 50 }, {}, undefined, 'debug');
    const ended: Promise<void>[] = [];
    const track = (work: Promise<unknown>) => ended.push(work.then(() => undefined, () => undefined));
    app.get('/rejects', async (request) => {
      const signal = request.ctx.signal;
      // What an aborted downstream call does: reject with the abort reason.
      const work = new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
      track(work);
      return work;
    });
    app.get('/late', async (request) => {
      const work = aborted(request.ctx.signal);
      track(work);
      await work;
      return { late: true };
    });
    // Fastify's own handler timeout races ctxkit's deadline (the same budget): either answers.
    app.get('/handler-timeout', { handlerTimeout: 30 }, async (request) => {
      const signal = request.ctx.signal;
      const work = new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
      track(work);
      return work;
    });
    app.get('/fails', async () => {
      throw new Error('a bug before any deadline');
    });
    const port = await listen(app);
    for (const path of ['/rejects', '/late', '/handler-timeout']) {
      const res = await call(port, path);
      expect(res.status).toBe(504);
      expect(res.json().code).toBe('DEADLINE_EXCEEDED');
    }
    await Promise.all(ended);
    await new Promise((resolve) => setImmediate(resolve)); // Fastify handles the handler's promise
    await log.waitFor((l) => l.msg === 'handler failed after the deadline reply');
    await log.waitFor((l) => l.msg === 'handler returned after the deadline reply');
    expect(log.lines.filter((l) => (l.level as number) >= 40)).toEqual([]);
    // Without a 504 first, a handler's error is Fastify's to handle and log, as always.
    expect((await call(port, '/fails')).status).toBe(500);
    const logged = await log.waitFor((l) => (l.level as number) >= 50);
    expect((logged.err as { message: string }).message).toBe('a bug before any deadline');
  });

  // The guard runs a synchronous resolver inline and an asynchronous one awaited: both paths,
  // each failing its own way (a throw from the synchronous one, a rejection from the other).
  type Resolver = (request: { headers: Record<string, unknown> }) => string | undefined | Promise<string | undefined>;
  const userOf = (request: { headers: Record<string, unknown> }): string => {
    const user = request.headers['x-user'] as string;
    if (user === 'throw') throw new Error('resolver bug');
    return user;
  };
  it.each<[string, Resolver]>([
    ['a synchronous', (request) => userOf(request)],
    ['an asynchronous', async (request) => {
      await new Promise((resolve) => setImmediate(resolve));
      return userOf(request); // a throw here rejects the resolver's promise
    }],
  ])('with %s resolveUser, the user is set, a late rejection after the 504 is logged at debug only, a failing resolver or a bad id answers 500', async (_kind, resolve) => {
    const { app, log } = await makeApp({ defaultTimeoutMs: 50, resolveUser: resolve }, {}, undefined, 'debug');
    let work: Promise<unknown> | undefined;
    app.get('/rejects', async (request) => {
      const signal = request.ctx.signal;
      work = new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
      return work;
    });
    app.get('/me', async (request) => ({ userId: request.ctx.userId }));
    const port = await listen(app);
    expect((await call(port, '/me', { headers: { 'x-user': 'u-1' } })).json()).toEqual({ userId: 'u-1' });
    const res = await call(port, '/rejects', { headers: { 'x-user': 'u-1' } });
    expect(res.status).toBe(504);
    await work!.catch(() => undefined);
    await log.waitFor((l) => l.msg === 'handler failed after the deadline reply');
    expect(log.lines.filter((l) => (l.level as number) >= 40)).toEqual([]);
    const failed = await call(port, '/me', { headers: { 'x-user': 'throw' } });
    expect(failed.status).toBe(500);
    const logged = await log.waitFor((l) => (l.level as number) >= 50);
    expect((logged.err as { message: string }).message).toBe('resolver bug');
    // An id that cannot go on the wire fails the request through core's check, on both paths.
    const bad = await call(port, '/me', { headers: { 'x-user': 'bad id, with spaces' } });
    expect(bad.status).toBe(500);
    const rejected = await log.waitFor((l) => (l.level as number) >= 50 && (l.err as { type?: string } | undefined)?.type === 'InvalidMetadataError');
    expect(rejected.err).toBeDefined();
  });

  it('answers 504 at once for a client timeout of 0', async () => {
    const { app } = await makeApp({ defaultTimeoutMs: 5000 });
    let ran = false;
    app.get('/zero', async () => {
      ran = true;
      return {};
    });
    const port = await listen(app);
    const res = await call(port, '/zero', { headers: { 'request-timeout-ms': '0' } });
    expect(res.status).toBe(504);
    expect(res.json().code).toBe('DEADLINE_EXCEEDED');
    expect(ran).toBe(false);
  });

  it('agrees with Fastify handlerTimeout: the smaller budget sets the deadline, and both answer 504', async () => {
    const { app } = await makeApp({ defaultTimeoutMs: 10_000, maxTimeoutMs: 60_000 });
    app.get('/h', { handlerTimeout: 80 }, async (request) => {
      const remaining = request.ctx.remainingMs();
      await aborted(request.ctx.signal);
      return { remaining };
    });
    app.get('/h-budget', { handlerTimeout: 80 }, async (request) => ({ remaining: request.ctx.remainingMs() }));
    app.get('/short', { handlerTimeout: 10_000 }, async (request) => {
      await aborted(request.ctx.signal);
      return {};
    });
    const port = await listen(app);
    const budget = (await call(port, '/h-budget', { headers: { 'request-timeout-ms': '30000' } })).json();
    expect(budget.remaining).toBeLessThanOrEqual(80);
    const res = await call(port, '/h');
    expect(res.status).toBe(504);
    expect(res.json()).toEqual({ code: 'DEADLINE_EXCEEDED', message: 'deadline exceeded', traceId: res.headers['trace-id'] });
    const short = await call(port, '/short', { headers: { 'request-timeout-ms': '50' } });
    expect(short.status).toBe(504);
    expect(short.json().code).toBe('DEADLINE_EXCEEDED');
  });

  it('takes a server-wide handlerTimeout as the cap too', async () => {
    const { port } = await budgetApp({}, { handlerTimeout: 3000 });
    const body = (await call(port, '/budget', { headers: { 'request-timeout-ms': '60000' } })).json();
    expect(body.remaining).toBeLessThanOrEqual(3000);
    expect(body.remaining).toBeGreaterThan(2000);
  });

  it('refuses a negative timeout option at registration', async () => {
    await expect(makeApp({ defaultTimeoutMs: -1 })).rejects.toThrow(RangeError);
  });
});
