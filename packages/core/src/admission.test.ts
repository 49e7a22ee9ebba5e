import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { afterEach, describe, expect, it } from 'vitest';
import { compileAdmission } from './adapter.js';
import { CancelledError, createContext, DeadlineExceededError, type RequestContext } from './index.js';
import { REFUSED_CHANNEL, type RefusedMessage, refusedRequests } from './diagnostics-entry.js';

/** One check of a route needing `minBudgetMs`, compiled as an adapter does at set-up. */
function admit(ctx: RequestContext, minBudgetMs: number, what: string, origin: unknown): Error | undefined {
  return compileAdmission(minBudgetMs, what)(ctx, what, origin);
}

/** Spins the CPU until `ms` have passed: a busy event loop, on which no timer can fire. */
function busy(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until);
}

describe('admission by budget', () => {
  afterEach(() => {
    refusedRequests(true);
  });

  it('admits a request with at least the time it needs, and one without a deadline', () => {
    const ctx = createContext({ timeoutMs: 5_000 });
    expect(admit(ctx, 100, 'GET /a', undefined)).toBeUndefined();
    expect(admit(ctx, 0, 'GET /a', undefined)).toBeUndefined();
    expect(admit(createContext(), 1_000_000, 'GET /a', undefined)).toBeUndefined();
    expect(refusedRequests()).toEqual({});
    ctx.end();
  });

  it('refuses a budget below the least needed with DeadlineExceededError, and counts it by route', () => {
    // 5 s left, 10 s needed: refused, and far from its own deadline however busy the machine.
    const ctx = createContext({ timeoutMs: 5_000 });
    const error = admit(ctx, 10_000, 'GET /report', undefined);
    expect(error).toBeInstanceOf(DeadlineExceededError);
    expect(error?.message).toMatchInlineSnapshot(`"deadline exceeded: not enough time left to serve this request"`);
    admit(ctx, 10_000, 'GET /report', undefined);
    admit(ctx, 10_000, '/shop.Orders/Create', undefined);
    expect(refusedRequests()).toEqual({ 'GET /report': 2, '/shop.Orders/Create': 1 });
    // The context itself is left alone: refusing is the adapter's answer, not a cancellation.
    expect(ctx.signal.aborted).toBe(false);
    ctx.end();
  });

  it('refuses a deadline that passed while the event loop was busy, before its timer could fire', () => {
    const ctx = createContext({ timeoutMs: 5 });
    void ctx.signal; // armed, as the adapters do
    busy(15);
    expect(ctx.signal.aborted).toBe(false); // the timer has not run yet
    expect(admit(ctx, 0, '/q.S/M', undefined)).toBeInstanceOf(DeadlineExceededError);
    ctx.end();
  });

  it('refuses a cancelled context with its own reason, whatever its budget', () => {
    const ctx = createContext({ timeoutMs: 60_000 });
    const left = new CancelledError('client left');
    ctx.cancel(left);
    expect(admit(ctx, 0, 'GET /a', undefined)).toBe(left);
    const none = createContext();
    none.cancel();
    expect(admit(none, 0, 'GET /a', undefined)).toBeInstanceOf(CancelledError);
    expect(refusedRequests(true)).toEqual({ 'GET /a': 2 });
    expect(refusedRequests()).toEqual({});
    ctx.end();
  });

  it('publishes each refusal on the refused channel, with the ids and the origin', () => {
    const seen: RefusedMessage[] = [];
    const onMessage = (message: unknown) => seen.push(message as RefusedMessage);
    subscribe(REFUSED_CHANNEL, onMessage);
    try {
      const ctx = createContext({ timeoutMs: 200 });
      const origin = { route: 'r' };
      admit(ctx, 500, 'GET /b', origin);
      expect(seen).toHaveLength(1);
      const [m] = seen;
      expect(m).toMatchObject({ what: 'GET /b', minBudgetMs: 500, traceId: ctx.traceId, requestId: ctx.requestId, origin });
      expect(m!.remainingMs).toBeGreaterThan(0);
      expect(m!.remainingMs).toBeLessThanOrEqual(200);
      expect(m!.reason).toBeInstanceOf(DeadlineExceededError);
      ctx.end();
    } finally {
      unsubscribe(REFUSED_CHANNEL, onMessage);
    }
  });

  it('checks the figure at set-up', () => {
    expect(compileAdmission(0, 'GET /a')).toBeTypeOf('function');
    expect(() => compileAdmission(-1, 'GET /a')).toThrowErrorMatchingInlineSnapshot(
      `[RangeError: ctxkit: minBudgetMs of GET /a must be a finite number of milliseconds >= 0, got -1]`,
    );
    expect(() => compileAdmission(Number.NaN, 'x')).toThrow(RangeError);
  });
});
