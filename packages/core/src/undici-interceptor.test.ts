import { getEventListeners } from 'node:events';
import { Agent, type Dispatcher, request, fetch as undiciFetch } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { activeTimers, rejection, settle, startServer, type TestServer, within } from '../test/fetch/server.js';
import { compileExtractor, recordCarrier } from './adapter.js';
import { bindContext, createContext, runWithContext, withCancel, withTimeout } from './index.js';
import { CancelledError, DeadlineExceededError, NoContextError } from './errors.js';
import { defineKey } from './schema.js';
import { undiciInterceptor } from './undici-interceptor.js';

const tenantId = defineKey('fetch-tenant');
let srv: TestServer;
let agent: Agent;
let dispatcher: Dispatcher;

beforeAll(async () => {
  srv = await startServer();
  agent = new Agent();
  dispatcher = agent.compose(undiciInterceptor());
});
afterAll(async () => {
  await agent.destroy();
  await srv.close();
});
afterEach(() => {
  srv.seen.length = 0;
});

function longContext() {
  return createContext({ userId: 'u-42', values: { [tenantId.name]: 'acme' }, timeoutMs: 600_000 });
}

describe('undiciInterceptor', () => {
  it('adds the propagated keys and the budget, never replacing a caller header', async () => {
    using ctx = longContext();
    const { body } = await runWithContext(ctx, () =>
      request(`${srv.url}/echo`, { dispatcher, headers: { 'Fetch-Tenant': 'mine' } }),
    );
    const echoed = (await body.json()) as Record<string, string>;
    expect(srv.seen[0]!.rawNames).toEqual(expect.arrayContaining(['trace-id', 'request-id', 'user-id', 'request-timeout-ms']));
    expect(echoed['trace-id']).toBe(ctx.traceId);
    expect(echoed['request-id']).toBe(ctx.requestId);
    expect(echoed['user-id']).toBe('u-42');
    expect(echoed['fetch-tenant']).toBe('mine');
    expect(Number(echoed['request-timeout-ms'])).toBeLessThanOrEqual(600_000);
  });

  it('keeps flat-array headers and applies an allow-list', async () => {
    const external = agent.compose(undiciInterceptor({ allowKeys: ['trace-id'] }));
    using ctx = longContext();
    const { body } = await runWithContext(ctx, () =>
      request(`${srv.url}/echo`, { dispatcher: external, headers: ['X-One', '1', 'x-two', '2'] }),
    );
    await body.text();
    const headers = srv.seen[0]!.headers;
    expect(headers['x-one']).toBe('1');
    expect(headers['x-two']).toBe('2');
    expect(headers['trace-id']).toBe(ctx.traceId);
    expect(headers['user-id']).toBeUndefined();
    expect(headers['fetch-tenant']).toBeUndefined();
  });

  it('serves undici.fetch with a dispatcher', async () => {
    using ctx = longContext();
    const res = await runWithContext(ctx, () => undiciFetch(`${srv.url}/echo`, { dispatcher }));
    expect(((await res.json()) as Record<string, string>)['trace-id']).toBe(ctx.traceId);
  });

  it('cuts a slow server at the context deadline', async () => {
    const arrived = srv.nextRequest();
    const result = rejection(withTimeout(100, () => request(`${srv.url}/hang`, { dispatcher })));
    const seen = await arrived;
    expect(await within(result, 5000, 'the request to be cut')).toBeInstanceOf(DeadlineExceededError);
    await within(seen.gone, 5000, 'the server to see the connection close');
  });

  it('cuts a body still streaming at the deadline', async () => {
    const result = withTimeout(150, async () => {
      const { statusCode, body } = await request(`${srv.url}/stall`, { dispatcher });
      expect(statusCode).toBe(200);
      return rejection(body.text());
    });
    expect(await within(result, 5000, 'the body to be cut')).toBeInstanceOf(DeadlineExceededError);
    await within(srv.seen[0]!.gone, 5000, 'the server to see the connection close');
  });

  it('aborts when the context is cancelled', async () => {
    const arrived = srv.nextRequest();
    const result = withCancel(async (cancel) => {
      const pending = rejection(request(`${srv.url}/hang`, { dispatcher }));
      await arrived;
      cancel();
      return pending;
    });
    const seen = await arrived;
    expect(await within(result, 5000, 'the request to be aborted')).toBeInstanceOf(CancelledError);
    await within(seen.gone, 5000, 'the server to see the connection close');
  });

  it("still honours the caller's signal", async () => {
    using ctx = longContext();
    const mine = new AbortController();
    const boom = new Error('caller gave up');
    const arrived = srv.nextRequest();
    const result = rejection(runWithContext(ctx, () => request(`${srv.url}/hang`, { dispatcher, signal: mine.signal })));
    await arrived;
    mine.abort(boom);
    expect(await within(result, 5000, 'the request to be aborted')).toBe(boom);
  });

  it('fails at once and sends nothing when no time is left, or outside a context when told to', async () => {
    using ctx = createContext({ deadline: Date.now() - 1 });
    expect(await rejection(runWithContext(ctx, () => request(`${srv.url}/echo`, { dispatcher })))).toBeInstanceOf(
      DeadlineExceededError,
    );
    const strict = agent.compose(undiciInterceptor({ missingContext: 'throw' }));
    expect(await rejection(request(`${srv.url}/echo`, { dispatcher: strict }))).toBeInstanceOf(NoContextError);
    await (await request(`${srv.url}/ok`, { dispatcher: agent })).body.text();
    expect(srv.seen.map((s) => s.path)).toEqual(['/ok']);
  });

  it('fails a request still queued at its deadline, and never sends it', async () => {
    const single = new Agent({ connections: 1 });
    try {
      const narrow = single.compose(undiciInterceptor());
      const arrived = srv.nextRequest();
      await withCancel(async (cancel) => {
        const first = rejection(request(`${srv.url}/hang`, { dispatcher: narrow }));
        await arrived;
        const queued = rejection(withTimeout(100, () => request(`${srv.url}/echo`, { dispatcher: narrow })));
        expect(await within(queued, 5000, 'the queued request to fail')).toBeInstanceOf(DeadlineExceededError);
        cancel();
        expect(await within(first, 5000, 'the first request to be aborted')).toBeInstanceOf(CancelledError);
      });
      await (await request(`${srv.url}/ok`, { dispatcher: single })).body.text();
      expect(srv.seen.map((s) => s.path)).toEqual(['/hang', '/ok']);
    } finally {
      await single.destroy();
    }
  });

  it('leaves no listener and no timer after 2,000 sequential requests under one context', async () => {
    using ctx = longContext();
    const timersBefore = activeTimers();
    await runWithContext(ctx, async () => {
      for (let i = 0; i < 2000; i++) {
        const { body } = await request(`${srv.url}/${i % 10 === 0 ? 'empty' : 'ok'}`, { dispatcher });
        await body.text();
      }
    });
    await settle();
    expect(getEventListeners(ctx.signal, 'abort')).toHaveLength(0);
    // Other timers (undici's, the server's) come and go; a leak here would be thousands.
    expect(activeTimers()).toBeLessThan(timersBefore + 10);
  }, 60_000);
});

describe('undiciInterceptor and traceparent (no tracer)', () => {
  const TP = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
  const extract = compileExtractor({ trust: 'internal' });

  it('forwards a received traceparent unchanged, with its tracestate', async () => {
    const ctx = extract(recordCarrier, { traceparent: TP, tracestate: 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7' });
    await runWithContext(ctx, async () => {
      for (let i = 0; i < 2; i++) await (await request(`${srv.url}/echo`, { dispatcher })).body.text();
    });
    ctx.end();
    for (const seen of srv.seen) {
      expect(seen.headers.traceparent).toBe(TP);
      expect(seen.headers.tracestate).toBe('congo=t61rcWkgMzE,rojo=00f067aa0ba902b7');
    }
    expect(srv.seen).toHaveLength(2);
  });

  it('starts one for a context that received none: its trace id, a parent id per call, not sampled', async () => {
    const ctx = extract(recordCarrier, {});
    await runWithContext(ctx, async () => {
      for (let i = 0; i < 3; i++) await (await request(`${srv.url}/echo`, { dispatcher })).body.text();
    });
    ctx.end();
    const sent = srv.seen.map((s) => String(s.headers.traceparent));
    expect(sent).toHaveLength(3);
    for (const tp of sent) expect(tp).toMatch(new RegExp(`^00-${ctx.traceId}-[0-9a-f]{16}-0[02]$`));
    expect(new Set(sent.map((tp) => tp.split('-')[2])).size).toBe(3);
    expect(srv.seen.every((s) => s.headers.tracestate === undefined)).toBe(true);
  });
});

describe('undiciInterceptor under a context that has already ended', () => {
  it('a request from a callback kept from an ended request is reported once per call site, and still sent with its ids', async () => {
    const requestA = createContext({ userId: 'alice' });
    // A pool created inside request A binds its idle callback to A's context.
    const pool = runWithContext(requestA, () => ({
      onIdle: bindContext(async () => (await request(`${srv.url}/echo`, { dispatcher })).body.text()),
    }));
    requestA.end(); // A was answered
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      const requestB = createContext({ userId: 'bob' });
      await runWithContext(requestB, async () => {
        await pool.onIdle();
        await pool.onIdle(); // the same call site: not reported again
        await (await request(`${srv.url}/echo`, { dispatcher })).body.text(); // B's own, live: not reported
      });
      requestB.end();
      await settle();
    } finally {
      process.off('warning', onWarning);
    }
    const ended = warnings.filter((w) => (w as Error & { code?: string }).code === 'CTXKIT_ENDED_CONTEXT');
    expect(ended).toHaveLength(1);
    expect(ended[0]!.message).toMatch(new RegExp(`an undici request at .*undici-interceptor\\.test\\.ts:\\d+.* request ${requestA.requestId}`));
    expect(srv.seen.map((s) => s.headers['user-id'])).toEqual(['alice', 'alice', 'bob']);
    expect(srv.seen[0]!.headers['request-id']).toBe(requestA.requestId);
  });

  it("fails with 'throw' and sends nothing", async () => {
    const strict = agent.compose(undiciInterceptor({ missingContext: 'throw' }));
    const requestA = createContext();
    const later = runWithContext(requestA, () => bindContext(() => request(`${srv.url}/echo`, { dispatcher: strict })));
    requestA.end();
    const error = await rejection(later());
    expect(error).toBeInstanceOf(NoContextError);
    expect((error as Error).message).toContain(`under the context of request ${requestA.requestId}`);
    expect(srv.seen).toHaveLength(0);
  });
});
