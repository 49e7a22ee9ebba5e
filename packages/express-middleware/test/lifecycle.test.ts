import { request as httpRequest } from 'node:http';
import { CancelledError, DeadlineExceededError, type RequestContext, currentContext, tryCurrentContext } from '@ctxkit/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ctxkit, ctxkitErrorHandler } from '../src/index.js';
import { call, closeAll, deferred, listen, majors, traceIdOf, withTimeout } from './helpers.js';

afterEach(closeAll);

/** What a handler saw when its context aborted. */
interface Abort {
  reason: unknown;
  current: string | undefined;
}

function onAbort(ctx: RequestContext): Promise<Abort> {
  return new Promise((resolve) => {
    ctx.signal.addEventListener('abort', () => resolve({ reason: ctx.signal.reason, current: tryCurrentContext()?.traceId }), {
      once: true,
    });
  });
}

describe.each(majors)('%s', (_name, express) => {
  const id = traceIdOf(0x5eed);

  it('a client that disconnects mid-request cancels the context; response listeners still see it', async () => {
    const app = express();
    app.use(ctxkit());
    const started = deferred<void>();
    const aborted = deferred<Abort>();
    const closed = deferred<string>();
    app.get('/slow', (_req, res) => {
      void onAbort(currentContext()).then(aborted.resolve);
      res.on('close', () => closed.resolve(tryCurrentContext()?.traceId ?? 'none'));
      started.resolve(); // and never answers
    });
    const { port } = await listen(app);

    const req = httpRequest({ host: '127.0.0.1', port, path: '/slow', headers: { 'trace-id': id }, agent: false });
    req.on('error', () => {});
    req.end();
    await withTimeout(started.promise, 5000, 'handler start');
    req.destroy();

    const abort = await withTimeout(aborted.promise, 5000, 'abort after disconnect');
    expect(abort.reason).toBeInstanceOf(CancelledError);
    expect((abort.reason as Error).message).toBe('client disconnected');
    expect(abort.current).toBe(id); // abort listeners run in the request's context
    expect(await withTimeout(closed.promise, 5000, 'response close')).toBe(id);
  });

  it('a client that disconnects while sending the body cancels the context', async () => {
    const app = express();
    app.use(ctxkit());
    const started = deferred<void>();
    const aborted = deferred<Abort>();
    app.use((_req, _res, next) => {
      void onAbort(currentContext()).then(aborted.resolve);
      started.resolve();
      next();
    });
    app.post('/', express.json(), (_req, res) => res.end('never'));
    app.use(ctxkitErrorHandler({ logger: false }));
    const { port } = await listen(app);

    const req = httpRequest({
      host: '127.0.0.1',
      port,
      path: '/',
      method: 'POST',
      headers: { 'trace-id': id, 'content-type': 'application/json', 'content-length': '100000' },
      agent: false,
    });
    req.on('error', () => {});
    req.write('{"a":"');
    await withTimeout(started.promise, 5000, 'middleware start');
    req.destroy();

    const abort = await withTimeout(aborted.promise, 5000, 'abort after disconnect');
    expect(abort.reason).toBeInstanceOf(CancelledError);
    expect(abort.current).toBe(id);
  });

  it('a completed exchange ends the context without aborting it', async () => {
    const app = express();
    app.use(ctxkit({ defaultTimeoutMs: 60_000 }));
    const closed = deferred<RequestContext>();
    app.get('/', (req, res) => {
      res.on('close', () => closed.resolve(req.ctx));
      res.json({ ok: true });
    });
    const { port } = await listen(app);

    expect((await call(port, '/')).status).toBe(200);
    const ctx = await withTimeout(closed.promise, 5000, 'response close');
    expect(ctx.signal.aborted).toBe(false);
  });

  it('a deadline that passes before the response answers 504 with the trace id', async () => {
    const app = express();
    app.use(ctxkit());
    const logger = { error: vi.fn() };
    const aborted = deferred<Abort>();
    const late = deferred<void>();
    app.get('/slow', async (_req, res, next) => {
      const abort = await onAbort(currentContext());
      aborted.resolve(abort);
      try {
        res.json({ late: true }); // the handler ignored its signal: too late, 504 was sent
      } catch (error) {
        next(error);
      }
      late.resolve();
    });
    app.use(ctxkitErrorHandler({ logger }));
    const { port } = await listen(app);

    const answer = await call(port, '/slow', { headers: { 'trace-id': id, 'request-timeout-ms': '50' } });
    expect(answer.status).toBe(504);
    expect(answer.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(answer.json()).toEqual({ code: 'DEADLINE_EXCEEDED', message: 'deadline exceeded', traceId: id });
    const abort = await withTimeout(aborted.promise, 5000, 'handler abort');
    expect(abort.reason).toBeInstanceOf(DeadlineExceededError);
    expect(abort.current).toBe(id);
    await withTimeout(late.promise, 5000, 'late write');
    expect(logger.error).not.toHaveBeenCalled(); // writing after the 504 is expected, not a bug
  });

  it('defaultTimeoutMs applies when the client sends none', async () => {
    const app = express();
    app.use(ctxkit({ defaultTimeoutMs: 30 }));
    app.get('/', () => {}); // never answers
    const { port } = await listen(app);
    const answer = await call(port, '/');
    expect(answer.status).toBe(504);
    expect(answer.json().traceId).toBe(answer.headers['trace-id']);
  });

  it('maxTimeoutMs clamps a client budget; without options there is no deadline', async () => {
    const app = express();
    const router = express.Router();
    router.get('/', (req, res) => res.json({ deadline: req.ctx.deadline ?? null, remaining: req.ctx.remainingMs() }));
    const clamped = express();
    clamped.use(ctxkit({ maxTimeoutMs: 1000 }), router);
    app.use('/clamped', clamped);
    const open = express();
    open.use(ctxkit(), router);
    app.use('/open', open);
    const { port } = await listen(app);

    const c = (await call(port, '/clamped/', { headers: { 'request-timeout-ms': '999999' } })).json();
    expect(c.remaining).toBeGreaterThan(0);
    expect(c.remaining).toBeLessThanOrEqual(1000);
    const o = (await call(port, '/open/')).json();
    expect(o).toEqual({ deadline: null, remaining: null }); // Infinity serialises as null
  });

  it('a budget already spent (request-timeout-ms: 0) answers 504 without running the chain', async () => {
    const app = express();
    app.use(ctxkit());
    const handler = vi.fn((_req: unknown, res: { end(): void }) => res.end());
    app.get('/', handler);
    const { port } = await listen(app);
    const answer = await call(port, '/', { headers: { 'trace-id': id, 'request-timeout-ms': '0' } });
    expect(answer.status).toBe(504);
    expect(answer.json()).toEqual({ code: 'DEADLINE_EXCEEDED', message: 'deadline exceeded', traceId: id });
    expect(handler).not.toHaveBeenCalled();
  });

  it('a response already streaming when the deadline passes is left to its handler', async () => {
    const app = express();
    app.use(ctxkit());
    app.get('/stream', async (_req, res) => {
      res.status(200).write('first;');
      const abort = await onAbort(currentContext());
      res.end(`then ${(abort.reason as Error).name}`);
    });
    const { port } = await listen(app);
    const answer = await call(port, '/stream', { headers: { 'request-timeout-ms': '30' } });
    expect(answer.status).toBe(200);
    expect(answer.body).toBe('first;then DeadlineExceededError');
  });

  it('refuses a negative or non-finite timeout option at creation', () => {
    expect(() => ctxkit({ defaultTimeoutMs: -1 })).toThrow(RangeError);
    expect(() => ctxkit({ maxTimeoutMs: Number.NaN })).toThrow(RangeError);
  });
});
