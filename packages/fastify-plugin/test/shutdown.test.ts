import { currentContext, LiveContexts, ShutdownError } from '@ctxkit/core';
import { afterEach, describe, expect, it } from 'vitest';
import { ctxkitErrorHandler } from '../src/index.js';
import { call, closeAll, listen, makeApp } from './helpers.js';

afterEach(closeAll);

describe('shutdown as cancellation', () => {
  it('drains requests in flight within the budget, then cancels the rest with 503', async () => {
    const live = new LiveContexts();
    const { app } = await makeApp({ live });
    app.setErrorHandler(ctxkitErrorHandler);
    const drainBegan = Promise.withResolvers<void>();
    let slowReason: unknown;
    app.get('/slow', async () => {
      const { signal } = currentContext();
      await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
      slowReason = signal.reason;
      throw signal.reason;
    });
    app.get('/fast', async () => {
      await drainBegan.promise;
      return { budgetMs: currentContext().remainingMs() };
    });
    const port = await listen(app);
    const slow = call(port, '/slow', { headers: { 'request-timeout-ms': '20000' } });
    const fast = call(port, '/fast', { headers: { 'request-timeout-ms': '20000' } });
    const end = Date.now() + 10_000;
    while (live.size < 2 && Date.now() < end) await new Promise((r) => setImmediate(r));
    expect(live.size).toBe(2);
    // Fastify stops accepting (new requests get its 503) and waits; the drain bounds the wait.
    const closing = app.close();
    const draining = live.drain({ drainMs: 200 });
    drainBegan.resolve();
    const [s, f, report] = await Promise.all([slow, fast, draining]);
    await closing;
    expect(f.status).toBe(200);
    expect(f.json().budgetMs).toBeLessThanOrEqual(200);
    expect(s.status).toBe(503);
    expect(slowReason).toBeInstanceOf(ShutdownError);
    expect(report).toMatchObject({ inFlight: 2, finished: 1, cancelled: 1, left: 0 });
    expect(live.size).toBe(0);
  });
});
