import { getEventListeners } from 'node:events';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { activeTimers, rejection, type Seen, settle, startServer, type TestServer, within } from '../test/fetch/server.js';
import { nodeHeadersGetter } from './carrier.js';
import { compileExtractor } from './extract.js';
import { bindContext, createContext, type RequestContext, runWithContext, withCancel, withTimeout, withValues } from './index.js';
import { droppedValues } from './drops.js';
import { CancelledError, DeadlineExceededError, NoContextError } from './errors.js';
import { createFetch, ctxFetch } from './fetch.js';
import { defineKey } from './schema.js';

const tenantId = defineKey('fetch-tenant');
let srv: TestServer;

beforeAll(async () => {
  srv = await startServer();
});
afterAll(async () => {
  await srv.close();
});
afterEach(() => {
  srv.seen.length = 0;
});

/** A long-lived context as a worker or a long request holds it. */
function longContext() {
  return createContext({ userId: 'u-42', values: { [tenantId.name]: 'acme' }, timeoutMs: 600_000 });
}

describe('headers', () => {
  it('sends the propagated keys lowercased, valid for the next hop, and the budget', async () => {
    using ctx = longContext();
    const before = droppedValues();
    const res = await runWithContext(ctx, () => ctxFetch(`${srv.url}/echo`));
    const echoed = (await res.json()) as Record<string, string>;
    const seen = srv.seen[0]!;
    for (const name of ['trace-id', 'request-id', 'user-id', 'fetch-tenant', 'request-timeout-ms']) {
      expect(seen.rawNames).toContain(name);
    }
    expect(echoed['trace-id']).toBe(ctx.traceId);
    expect(echoed['user-id']).toBe('u-42');
    expect(echoed['fetch-tenant']).toBe('acme');
    const budget = Number(echoed['request-timeout-ms']);
    expect(Number.isInteger(budget)).toBe(true);
    expect(budget).toBeGreaterThan(590_000);
    expect(budget).toBeLessThanOrEqual(600_000);

    // The next hop reads them back with core's extractor: nothing dropped, same ids.
    using next = compileExtractor()(nodeHeadersGetter, seen.headers);
    expect(next.traceId).toBe(ctx.traceId);
    expect(next.requestId).toBe(ctx.requestId);
    expect(next.userId).toBe('u-42');
    expect(next.get(tenantId)).toBe('acme');
    expect(droppedValues()).toEqual(before);
  });

  it('never replaces a header the caller set, in any case, nor from a Request', async () => {
    using ctx = longContext();
    await runWithContext(ctx, async () => {
      await ctxFetch(`${srv.url}/echo`, { headers: { 'Fetch-Tenant': 'mine', 'x-extra': '1' } });
      const request = new Request(`${srv.url}/echo`, { headers: [['user-id', 'someone-else']] });
      await ctxFetch(request);
    });
    expect(srv.seen[0]!.headers['fetch-tenant']).toBe('mine');
    expect(srv.seen[0]!.headers['x-extra']).toBe('1');
    expect(srv.seen[0]!.headers['trace-id']).toBe(ctx.traceId);
    expect(srv.seen[1]!.headers['user-id']).toBe('someone-else');
    expect(srv.seen[1]!.headers['fetch-tenant']).toBe('acme');
  });

  it('keeps a smaller timeout header of the caller and replaces a larger one', async () => {
    using ctx = createContext({ timeoutMs: 5000 });
    await runWithContext(ctx, async () => {
      await ctxFetch(`${srv.url}/echo`, { headers: { 'request-timeout-ms': '100' } });
      await ctxFetch(`${srv.url}/echo`, { headers: { 'request-timeout-ms': '999999' } });
    });
    expect(srv.seen[0]!.headers['request-timeout-ms']).toBe('100');
    expect(Number(srv.seen[1]!.headers['request-timeout-ms'])).toBeLessThanOrEqual(5000);
  });

  it('sends only allowed keys to an external target', async () => {
    const external = createFetch({ allowKeys: ['trace-id'], timeoutHeader: false });
    using ctx = longContext();
    await runWithContext(ctx, () => withValues({ userId: 'u-7' }, () => external(`${srv.url}/echo`)));
    const headers = srv.seen[0]!.headers;
    expect(headers['trace-id']).toBe(ctx.traceId);
    expect(headers['user-id']).toBeUndefined();
    expect(headers['request-id']).toBeUndefined();
    expect(headers['fetch-tenant']).toBeUndefined();
    expect(headers['request-timeout-ms']).toBeUndefined();
  });

  it('sends no budget header without a deadline', async () => {
    await withCancel(() => ctxFetch(`${srv.url}/echo`));
    expect(srv.seen[0]!.headers['request-timeout-ms']).toBeUndefined();
    expect(srv.seen[0]!.headers['trace-id']).toMatch(/^[0-9a-f]{32}$/);
  });
});

describe('deadline and cancellation', () => {
  async function cut(start: () => Promise<unknown>): Promise<{ reason: unknown; seen: Seen }> {
    const arrived = srv.nextRequest();
    const result = rejection(start());
    const seen = await arrived;
    const reason = await within(result, 5000, 'the fetch to be aborted');
    await within(seen.gone, 5000, 'the server to see the connection close');
    return { reason, seen };
  }

  it('cuts a slow server at the context deadline', async () => {
    const { reason, seen } = await cut(() => withTimeout(100, () => ctxFetch(`${srv.url}/hang`)));
    expect(reason).toBeInstanceOf(DeadlineExceededError);
    expect(Number(seen.headers['request-timeout-ms'])).toBeLessThanOrEqual(100);
  });

  it("at the context's deadline the context aborts the call: expired first, and no second timer", async () => {
    const ctx = createContext({ timeoutMs: 150 });
    void ctx.signal; // the context's own timer is armed
    const timersBefore = activeTimers();
    const arrived = srv.nextRequest();
    const pending = runWithContext(ctx, () => ctxFetch(`${srv.url}/hang`)).then(
      () => 'answered',
      (reason: unknown) => ({ reason, contextExpired: ctx.signal.aborted }),
    );
    await arrived;
    // ctxkit armed nothing for the call: its deadline is the context's (a ref'd call timer would show).
    expect(activeTimers()).toBe(timersBefore);
    const outcome = (await within(pending, 5000, 'the fetch to be aborted')) as { reason: unknown; contextExpired: boolean };
    expect(outcome.reason).toBeInstanceOf(DeadlineExceededError);
    expect(outcome.reason).toBe(ctx.signal.reason); // the context's own reason, not a second error
    expect(outcome.contextExpired).toBe(true);
    ctx.end();
  });

  it('aborts when the context is cancelled, and the server sees the socket close', async () => {
    const arrived = srv.nextRequest();
    const result = withCancel(async (cancel) => {
      const pending = rejection(ctxFetch(`${srv.url}/hang`));
      await arrived;
      cancel();
      return pending;
    });
    const seen = await arrived;
    expect(await within(result, 5000, 'the fetch to be aborted')).toBeInstanceOf(CancelledError);
    await within(seen.gone, 5000, 'the server to see the connection close');
  });

  it("lets the caller's shorter timeoutMs win, in the header too", async () => {
    using ctx = longContext();
    const { reason, seen } = await cut(() => runWithContext(ctx, () => ctxFetch(`${srv.url}/hang`, { timeoutMs: 80 })));
    expect(reason).toBeInstanceOf(DeadlineExceededError);
    expect(Number(seen.headers['request-timeout-ms'])).toBeLessThanOrEqual(80);
    expect(ctx.signal.aborted).toBe(false);
  });

  it("lets the caller's own timeout signal win", async () => {
    using ctx = longContext();
    const { reason } = await cut(() => runWithContext(ctx, () => ctxFetch(`${srv.url}/hang`, { signal: AbortSignal.timeout(80) })));
    // fetch rejects with the signal's reason; on a loaded machine undici may already be reading
    // the response when it lands, and rejects with an AbortError caused by it. Either way, the caller's.
    const error = reason as Error & { cause?: unknown };
    expect(error.name === 'TimeoutError' ? error : error.cause).toMatchObject({ name: 'TimeoutError' });
  });

  it("aborts on the caller's signal, also one carried by a Request", async () => {
    using ctx = longContext();
    const mine = new AbortController();
    const boom = new Error('caller gave up');
    const { reason } = await cut(() =>
      runWithContext(ctx, async () => {
        const pending = ctxFetch(new Request(`${srv.url}/hang`, { signal: mine.signal }));
        setImmediate(() => mine.abort(boom));
        return pending;
      }),
    );
    expect(reason).toBe(boom);
  });

  it('cancels a body still streaming when the deadline passes', async () => {
    const result = withTimeout(150, async () => {
      const res = await ctxFetch(`${srv.url}/stall`);
      expect(res.status).toBe(200);
      return rejection(res.text());
    });
    expect(await within(result, 5000, 'the body to be cut')).toBeInstanceOf(DeadlineExceededError);
    await within(srv.seen[0]!.gone, 5000, 'the server to see the connection close');
  });

  it('fails at once and sends nothing when no time is left', async () => {
    using ctx = createContext({ deadline: Date.now() - 1 });
    const reason = await rejection(runWithContext(ctx, () => ctxFetch(`${srv.url}/echo`)));
    expect(reason).toBeInstanceOf(DeadlineExceededError);
    using cancelled = createContext();
    cancelled.cancel();
    expect(await rejection(runWithContext(cancelled, () => ctxFetch(`${srv.url}/echo`)))).toBeInstanceOf(CancelledError);
    await fetch(`${srv.url}/ok`).then((r) => r.text());
    expect(srv.seen.map((s) => s.path)).toEqual(['/ok']);
  });

  it('rejects an invalid per-call timeout without sending', async () => {
    const reason = await rejection(withCancel(() => ctxFetch(`${srv.url}/echo`, { timeoutMs: -1 })));
    expect(reason).toBeInstanceOf(RangeError);
    expect(srv.seen).toHaveLength(0);
  });
});

describe('outside any context', () => {
  it("refuses with 'throw' and sends nothing", async () => {
    const strict = createFetch({ missingContext: 'throw' });
    expect(await rejection(strict(`${srv.url}/echo`))).toBeInstanceOf(NoContextError);
    expect(srv.seen).toHaveLength(0);
  });

  it("warns by default and sends a plain request; 'ignore' stays silent", async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      await ctxFetch(`${srv.url}/echo`).then((r) => r.text());
      await createFetch({ missingContext: 'ignore' })(`${srv.url}/echo`).then((r) => r.text());
      await settle();
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings.filter((w) => (w as Error & { code?: string }).code === 'CTXKIT_NO_CONTEXT')).toHaveLength(1);
    expect(srv.seen).toHaveLength(2);
    expect(srv.seen[0]!.headers['trace-id']).toBeUndefined();
  });

  it('still applies its own timeout', async () => {
    const bounded = createFetch({ missingContext: 'ignore', timeoutMs: 80 });
    const arrived = srv.nextRequest();
    const reason = rejection(bounded(`${srv.url}/hang`));
    const seen = await arrived;
    expect(seen.headers['request-timeout-ms']).toBeDefined();
    expect(await within(reason, 5000, 'the timeout')).toBeInstanceOf(DeadlineExceededError);
  });
});

describe('under a context that has already ended', () => {
  /** Warnings emitted while `fn` runs, by code. */
  async function warningsDuring(fn: () => Promise<void>): Promise<Error[]> {
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      await fn();
      await settle();
    } finally {
      process.off('warning', onWarning);
    }
    return warnings.filter((w) => (w as Error & { code?: string }).code === 'CTXKIT_ENDED_CONTEXT');
  }

  it('a call from a callback kept from an ended request is reported once per call site, and still sent with its ids', async () => {
    const requestA = createContext({ userId: 'alice' });
    // A pool created inside request A binds its idle callback to A's context.
    const pool = runWithContext(requestA, () => ({ onIdle: bindContext(() => ctxFetch(`${srv.url}/echo`).then((r) => r.text())) }));
    requestA.end(); // A was answered
    const ended = await warningsDuring(async () => {
      const requestB = createContext({ userId: 'bob' });
      await runWithContext(requestB, async () => {
        await pool.onIdle();
        await pool.onIdle(); // the same call site: not reported again
        await ctxFetch(`${srv.url}/echo`).then((r) => r.text()); // B's own call, live: not reported
      });
      requestB.end();
    });
    expect(ended).toHaveLength(1);
    expect(ended[0]!.message).toMatch(new RegExp(`fetch at .*fetch\\.test\\.ts:\\d+.* request ${requestA.requestId}`));
    // What the report is for: the call goes out as the ended request's.
    expect(srv.seen).toHaveLength(3);
    expect(srv.seen[0]!.headers['request-id']).toBe(requestA.requestId);
    expect(srv.seen[0]!.headers['user-id']).toBe('alice');
    expect(srv.seen[2]!.headers['user-id']).toBe('bob');
  });

  it("refuses with 'throw' and sends nothing", async () => {
    const strict = createFetch({ missingContext: 'throw' });
    const request = createContext();
    const later = runWithContext(request, () => bindContext(() => strict(`${srv.url}/echo`)));
    request.end();
    const error = await rejection(later());
    expect(error).toBeInstanceOf(NoContextError);
    expect((error as Error).message).toContain(`under the context of request ${request.requestId}`);
    expect(srv.seen).toHaveLength(0);
  });
});

/**
 * The calls following a context (white box): core's own contexts tell their calls directly,
 * without an abort listener on the signal, so the leak checks count these instead.
 */
function callsFollowing(ctx: RequestContext): unknown[] {
  const w = (ctx as unknown as { _watchers?: object | Set<object> })._watchers;
  if (w === undefined) return [];
  return w instanceof Set ? [...w] : [w];
}

describe('resources', () => {
  it('leaves no follower and no timer after 10,000 sequential calls under one context', async () => {
    using ctx = longContext();
    const timersBefore = activeTimers();
    let inFlight = -1;
    await runWithContext(ctx, async () => {
      for (let i = 0; i < 10_000; i++) {
        const path = i % 10 === 0 ? '/empty' : '/ok';
        const res = await ctxFetch(`${srv.url}${path}`, i % 2 === 0 ? { timeoutMs: 60_000 } : undefined);
        if (i === 5) inFlight = callsFollowing(ctx).length;
        await res.text();
      }
    });
    await settle();
    expect(inFlight).toBe(1);
    expect(callsFollowing(ctx)).toHaveLength(0);
    // Other timers (undici's, the server's) come and go; a leak here would be thousands.
    expect(activeTimers()).toBeLessThan(timersBefore + 10);
  }, 120_000);

  it('follows the context with each concurrent call, and with none after', async () => {
    using ctx = longContext();
    await runWithContext(ctx, async () => {
      const all = Array.from({ length: 50 }, () => ctxFetch(`${srv.url}/ok`));
      expect(callsFollowing(ctx)).toHaveLength(50);
      expect(getEventListeners(ctx.signal, 'abort')).toHaveLength(0); // no EventTarget work per call
      await Promise.all((await Promise.all(all)).map((r) => r.text()));
    });
    await settle();
    expect(callsFollowing(ctx)).toHaveLength(0);
  });

  it('releases a call whose body is cancelled, or that has no body', async () => {
    using ctx = longContext();
    await runWithContext(ctx, async () => {
      const res = await ctxFetch(`${srv.url}/big`);
      expect(callsFollowing(ctx)).toHaveLength(1);
      await res.body!.cancel();
      await settle();
      expect(callsFollowing(ctx)).toHaveLength(0);
      await ctxFetch(`${srv.url}/empty`);
      expect(callsFollowing(ctx)).toHaveLength(0);
    });
  });

  it('does not keep calls whose body is never read once the responses are collected', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    using ctx = createContext(); // no deadline: no timer would release them
    let unread: Response[] = [];
    await runWithContext(ctx, async () => {
      for (let i = 0; i < 20; i++) unread.push(await ctxFetch(`${srv.url}/${i % 2 ? 'ok' : 'big'}`));
    });
    expect(callsFollowing(ctx)).toHaveLength(20);
    expect(unread).toHaveLength(20);
    unread = [];
    for (let i = 0; i < 100 && callsFollowing(ctx).length > 0; i++) {
      gc();
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(callsFollowing(ctx)).toHaveLength(0);
  });
});
