import { currentContext, LiveContexts, ShutdownError } from '@ctxkit/core';
import { afterEach, describe, expect, it } from 'vitest';
import { ctxkit, ctxkitErrorHandler } from '../src/index.js';
import { call, closeAll, listen, majors } from './helpers.js';

afterEach(closeAll);

describe.each(majors)('shutdown as cancellation (%s)', (_name, express) => {
  it('drains requests in flight within the budget, cancels the rest with 503, and refuses new ones', async () => {
    const live = new LiveContexts();
    const app = express();
    app.use(ctxkit({ live }));
    const drainBegan = Promise.withResolvers<void>();
    let slowReason: unknown;
    app.get('/slow', (_req, _res, next) => {
      const { signal } = currentContext();
      signal.addEventListener('abort', () => {
        slowReason = signal.reason;
        next(signal.reason);
      }, { once: true });
    });
    app.get('/fast', async (_req, res) => {
      await drainBegan.promise;
      res.json({ budgetMs: currentContext().remainingMs() });
    });
    app.get('/late', (_req, res) => {
      res.json({ aborted: currentContext().signal.aborted });
    });
    app.use(ctxkitErrorHandler());
    const { port } = await listen(app);
    const slow = call(port, '/slow', { headers: { 'request-timeout-ms': '20000' } });
    const fast = call(port, '/fast', { headers: { 'request-timeout-ms': '20000' } });
    const end = Date.now() + 10_000;
    while (live.size < 2 && Date.now() < end) await new Promise((r) => setImmediate(r));
    expect(live.size).toBe(2);
    const draining = live.drain({ drainMs: 200 });
    drainBegan.resolve();
    // Arrived during the drain: it starts cancelled (the server had not stopped listening yet).
    const late = await call(port, '/late');
    expect(late.json()).toEqual({ aborted: true });
    expect(late.headers.connection).toBe('close');
    const [s, f, report] = await Promise.all([slow, fast, draining]);
    expect(f.status).toBe(200);
    expect(f.json().budgetMs).toBeLessThanOrEqual(200);
    expect(s.status).toBe(503);
    expect(slowReason).toBeInstanceOf(ShutdownError);
    expect(report).toMatchObject({ inFlight: 2, finished: 1, cancelled: 1, left: 0 });
    expect(live.size).toBe(0);
  });
});
