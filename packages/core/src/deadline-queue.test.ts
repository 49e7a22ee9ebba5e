import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { onContextAbort } from './context.js';
import { deadlines } from './deadline-queue.js';
import { CancelledError, createContext, DeadlineExceededError, type OwnedContext, tryCurrentContext } from './index.js';

/** Resolves with the time the context's signal aborted at, and why. */
async function abortedAt(ctx: OwnedContext): Promise<{ at: number; reason: unknown }> {
  const signal = ctx.signal;
  if (!signal.aborted) await once(signal, 'abort');
  return { at: Date.now(), reason: signal.reason };
}

describe('the shared deadline queue', () => {
  it('fires every deadline, in deadline order, never before it, whatever the order they were armed in', async () => {
    const budgets = [40, 5, 25, 5, 60, 15, 1, 30, 10, 50, 20, 35];
    // Armed all at once against one base time well ahead: a deadline that had passed by the time
    // it was armed would abort at once, in arming order. A round in which the machine stalled
    // longer than the lead (seen on a loaded CI runner) is run again rather than misread.
    for (let round = 0; ; round++) {
      const base = Date.now() + 50;
      const contexts = budgets.map((ms) => createContext({ deadline: base + ms }));
      const fired: { i: number; at: number }[] = [];
      const all = contexts.map(
        (ctx, i) =>
          new Promise<void>((resolve) => {
            ctx.signal.addEventListener('abort', () => {
              fired.push({ i, at: Date.now() });
              resolve();
            });
          }),
      );
      const armedInTime = Date.now() < base;
      await Promise.all(all);
      if (!armedInTime && round < 5) continue;
      expect(armedInTime).toBe(true);
      for (const { i, at } of fired) {
        expect(contexts[i]!.signal.reason).toBeInstanceOf(DeadlineExceededError);
        expect(at).toBeGreaterThanOrEqual(contexts[i]!.deadline!);
      }
      const order = fired.map(({ i }) => contexts[i]!.deadline!);
      expect(order).toEqual([...order].sort((a, b) => a - b));
      expect(fired).toHaveLength(budgets.length);
      expect(deadlines.size).toBe(0);
      return;
    }
  });

  it('a context ended before its deadline never fires and leaves the queue', async () => {
    // As above: armed and ended against one base time well ahead, run again after a stall.
    for (let round = 0; ; round++) {
      const base = Date.now() + 100;
      const ended = Array.from({ length: 200 }, (_, i) => createContext({ deadline: base + (i % 17) }));
      for (const ctx of ended) void ctx.signal; // arms each one
      const sizeArmed = deadlines.size;
      // Removed from the middle, the ends and the top of the heap, in a scrambled order.
      for (let i = 0; i < ended.length; i += 3) ended[i]!.end();
      for (let i = 1; i < ended.length; i += 3) ended[i]!.end();
      const inTime = Date.now() < base;
      const kept = ended.filter((_, i) => i % 3 === 2);
      const last = createContext({ deadline: base + 30 });
      await abortedAt(last);
      if (!inTime && round < 5) {
        for (const ctx of kept) ctx.end();
        continue;
      }
      expect(inTime).toBe(true);
      expect(sizeArmed).toBe(200);
      for (const ctx of kept) expect(ctx.signal.aborted).toBe(true);
      for (const [i, ctx] of ended.entries()) if (i % 3 !== 2) expect(ctx.signal.aborted).toBe(false);
      for (const ctx of kept) ctx.end();
      last.end();
      expect(deadlines.size).toBe(0);
      return;
    }
  });

  it('an earlier deadline armed after a later one re-arms the shared timer', async () => {
    const late = createContext({ timeoutMs: 60_000 });
    void late.signal;
    const early = createContext({ timeoutMs: 10 });
    const { at } = await abortedAt(early);
    expect(at).toBeGreaterThanOrEqual(early.deadline!);
    expect(late.signal.aborted).toBe(false);
    late.end();
    expect(deadlines.size).toBe(0);
  });

  it('a context nobody follows is not queued, and still reports its passed deadline when asked', async () => {
    const ctx = createContext({ timeoutMs: 5 });
    expect(deadlines.size).toBe(0);
    while (Date.now() <= ctx.deadline!) await new Promise((resolve) => setImmediate(resolve));
    expect(ctx.signal.aborted).toBe(true);
    expect(ctx.signal.reason).toBeInstanceOf(DeadlineExceededError);
    expect(deadlines.size).toBe(0);
  });
});

describe('onContextAbort', () => {
  it('calls the handler once, in the context, at the deadline, without a signal', async () => {
    const ctx = createContext({ timeoutMs: 10 });
    const seen: { arg: string; reason: unknown; current: unknown }[] = [];
    const done = new Promise<void>((resolve) => {
      const reason = onContextAbort(
        ctx,
        (arg: string, why) => {
          seen.push({ arg, reason: why, current: tryCurrentContext() });
          resolve();
        },
        'reply-1',
      );
      expect(reason).toBeUndefined();
    });
    expect((ctx as unknown as { _controller?: unknown })._controller).toBeUndefined();
    await done;
    ctx.cancel(); // aborted already: nothing more
    expect(seen).toHaveLength(1);
    expect(seen[0]!.arg).toBe('reply-1');
    expect(seen[0]!.reason).toBeInstanceOf(DeadlineExceededError);
    expect(seen[0]!.current).toBe(ctx);
    expect(Date.now()).toBeGreaterThanOrEqual(ctx.deadline!);
  });

  it('is told of a cancel, reports an abort that happened already, and is released by end()', () => {
    const reasons: unknown[] = [];
    const cancelled = createContext({ timeoutMs: 60_000 });
    onContextAbort(cancelled, (_: undefined, why) => reasons.push(why), undefined);
    cancelled.cancel();
    expect(reasons).toHaveLength(1);
    expect(reasons[0]).toBeInstanceOf(CancelledError);
    expect(onContextAbort(cancelled, () => reasons.push('again'), undefined)).toBeInstanceOf(CancelledError);

    const ended = createContext({ timeoutMs: 60_000 });
    onContextAbort(ended, () => reasons.push('ended'), undefined);
    expect(deadlines.size).toBe(1);
    ended.end();
    expect(deadlines.size).toBe(0);
    expect(reasons).toHaveLength(1);
  });
});
