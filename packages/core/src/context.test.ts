import { EventEmitter, getEventListeners, once } from 'node:events';
import { Readable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import {
  bindContext,
  CancelledError,
  createContext,
  currentContext,
  DeadlineExceededError,
  defineKey,
  InvalidMetadataError,
  NoContextError,
  type OwnedContext,
  type RequestContext,
  runWithContext,
  tryCurrentContext,
  withCancel,
  withDeadline,
  withTimeout,
  withValue,
  withValues,
} from './index.js';

const tenant = defineKey<'acme' | 'globex'>('tenantId');

/** Whether the context is in the shared deadline queue (white box: its timer is unref'd, so no resource count shows it). */
function timerOf(ctx: RequestContext): unknown {
  return (ctx as unknown as { _heapIndex: number })._heapIndex >= 0 ? true : undefined;
}

/** A real full GC, also where the process runs without --expose-gc. */
function forcedGc(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

function abortedWithin(signal: AbortSignal, ms: number): Promise<unknown> {
  if (signal.aborted) return Promise.resolve(signal.reason);
  return Promise.race([
    once(signal, 'abort').then(() => signal.reason),
    sleep(ms, undefined, { ref: false }).then(() => {
      throw new Error(`signal did not abort within ${ms} ms`);
    }),
  ]);
}

describe('current context', () => {
  it('throws a NoContextError that says how to get a context', () => {
    expect(tryCurrentContext()).toBeUndefined();
    expect(() => currentContext()).toThrow(NoContextError);
    expect(() => currentContext()).toThrow(/runWithContext/);
    try {
      currentContext();
    } catch (e) {
      expect((e as NoContextError).code).toBe('NO_CONTEXT');
      expect((e as NoContextError).httpStatus).toBe(500);
    }
  });

  it('creates contexts with new W3C ids, or the ids given', () => {
    const a = createContext();
    expect(a.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(a.requestId).toMatch(/^[0-9a-f]{16}$/);
    expect(a.deadline).toBeUndefined();
    expect(a.remainingMs()).toBe(Number.POSITIVE_INFINITY);
    const w3c = '4bf92f3577b34da6a3ce929d0e0e4736';
    const given = createContext({ traceId: w3c });
    expect([given.traceId, given.legacyTraceId]).toEqual([w3c, undefined]);
    // An id that is not a W3C one is kept as the legacy id, beside a new W3C trace id.
    const b = createContext({ traceId: 'legacy-1', requestId: 'r-1', userId: 'u-1', values: { tenantId: 'acme' } });
    expect(b.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect([b.legacyTraceId, b.requestId, b.userId, b.get(tenant)]).toEqual(['legacy-1', 'r-1', 'u-1', 'acme']);
    expect([...b.metadata]).toEqual([
      ['trace-id', 'legacy-1'],
      ['request-id', 'r-1'],
      ['user-id', 'u-1'],
      ['tenant-id', 'acme'],
    ]);
  });

  it('refuses values code sets that cannot go on the wire, where they are set', () => {
    expect(() => createContext({ userId: 'a\r\nb' })).toThrow(InvalidMetadataError);
    expect(() => createContext({ userId: 'x'.repeat(129) })).toThrow(/longer than 128/);
    expect(() => createContext({ userId: 'héllo' })).toThrow(/printable ASCII/);
    expect(() => createContext({ values: { undeclaredKey: 'x' } })).toThrow(/not declared/);
    expect(() => createContext({ values: { 'grpc-thing': 'x' } })).toThrow(/grpc- prefix/);
    expect(() => createContext({ timeoutMs: -1 })).toThrow(RangeError);
    expect(() => createContext({ deadline: Number.NaN })).toThrow(RangeError);
    expect(() => runWithContext(createContext(), () => withValues({ traceId: 'x' }, () => 0))).toThrow(
      /set when a chain starts/,
    );
  });

  it('runs a function and what it awaits in the context', async () => {
    const ctx = createContext({ userId: 'u-7' });
    const seen = await runWithContext(ctx, async () => {
      await sleep(1);
      await new Promise((r) => setImmediate(r));
      return currentContext().userId;
    });
    expect(seen).toBe('u-7');
    expect(tryCurrentContext()).toBeUndefined();
  });
});

describe('isolation', () => {
  it('keeps 2,000 interleaved tasks apart through awaits, timers, streams and emitters', async () => {
    const bus = new EventEmitter();
    bus.setMaxListeners(0);
    const mismatches: string[] = [];
    const check = (want: string, where: string) => {
      const got = tryCurrentContext()?.legacyTraceId;
      if (got !== want) mismatches.push(`${where}: ${want} saw ${String(got)}`);
    };
    const task = async (i: number) => {
      const id = `task-${i}`;
      const ctx = createContext({ traceId: id, userId: `user-${i}` });
      await runWithContext(ctx, async () => {
        check(id, 'start');
        await sleep(i % 7);
        check(id, 'after timer');
        await new Promise<void>((r) => setImmediate(r));
        check(id, 'after setImmediate');
        await Promise.resolve().then(() => check(id, 'promise chain'));
        const chunks: string[] = [];
        for await (const chunk of Readable.from([`a${i}`, `b${i}`])) {
          check(id, 'stream');
          chunks.push(String(chunk));
        }
        // EventEmitter listeners run in the emitter's context unless bound.
        await new Promise<void>((resolve) => {
          bus.once(
            `e${i}`,
            bindContext(() => {
              check(id, 'bound listener');
              resolve();
            }),
          );
          setTimeout(() => runWithContext(createContext({ traceId: 'intruder' }), () => bus.emit(`e${i}`)), i % 5);
        });
        await withTimeout(1000, async () => {
          await sleep(i % 3);
          check(id, 'child');
          expect(currentContext().userId).toBe(`user-${i}`);
        });
        check(id, 'end');
      });
      ctx.end();
    };
    await Promise.all(Array.from({ length: 2000 }, (_, i) => task(i)));
    expect(mismatches).toEqual([]);
  });
});

describe('children follow Go', () => {
  it('take the earlier of their own deadline and the parent one', async () => {
    const parent = createContext({ timeoutMs: 1000 });
    await runWithContext(parent, async () => {
      await withTimeout(60_000, () => expect(currentContext().deadline).toBe(parent.deadline));
      await withTimeout(10, () => expect(currentContext().deadline!).toBeLessThan(parent.deadline!));
      await withDeadline(Date.now() + 5000, () => expect(currentContext().deadline).toBe(parent.deadline));
    });
    parent.end();
  });

  it('abort at their deadline with DeadlineExceededError, leaving the parent alone', async () => {
    const parent = createContext();
    await runWithContext(parent, () =>
      withTimeout(20, async () => {
        const reason = await abortedWithin(currentContext().signal, 2000);
        expect(reason).toBeInstanceOf(DeadlineExceededError);
        expect((reason as DeadlineExceededError).grpcCode).toBe(4);
        expect(currentContext().remainingMs()).toBe(0);
      }),
    );
    expect(parent.signal.aborted).toBe(false);
    parent.end();
  });

  it('are cancelled with their parent, the reason passed down', async () => {
    const root = createContext();
    const signals: AbortSignal[] = [];
    const running = runWithContext(root, () =>
      withCancel(() =>
        withTimeout(60_000, () =>
          withValues({ tenantId: 'acme' }, async () => {
            signals.push(currentContext().signal);
            await abortedWithin(currentContext().signal, 2000);
          }),
        ),
      ),
    );
    root.cancel();
    await running;
    expect(signals[0]!.reason).toBeInstanceOf(CancelledError);
    root.end();
  });

  it('cancelling a child never touches the parent', async () => {
    const root = createContext();
    await runWithContext(root, () =>
      withCancel(async (cancel) => {
        const child = currentContext();
        cancel();
        expect(child.signal.aborted).toBe(true);
        expect(child.signal.reason).toBeInstanceOf(CancelledError);
      }),
    );
    expect(root.signal.aborted).toBe(false);
  });

  it('a parent past its deadline gives children an aborted signal at once', () => {
    const root = createContext({ deadline: Date.now() - 1 });
    runWithContext(root, () =>
      withValue(tenant, 'globex', () => {
        const signal = currentContext().signal;
        expect(signal.aborted).toBe(true);
        expect(signal.reason).toBeInstanceOf(DeadlineExceededError);
        expect(currentContext().get(tenant)).toBe('globex');
      }),
    );
  });

  it('a cancelled context reports it even when its signal is first read afterwards', () => {
    const ctx = createContext({ timeoutMs: 10_000 });
    ctx.cancel();
    expect(ctx.signal.aborted).toBe(true);
    expect(ctx.signal.reason).toBeInstanceOf(CancelledError);
  });

  it('rethrows and still ends the child when fn throws', () => {
    const root = createContext();
    runWithContext(root, () => {
      const signal = root.signal;
      expect(() =>
        withTimeout(1000, () => {
          void currentContext().signal;
          throw new Error('boom');
        }),
      ).toThrow('boom');
      expect(getEventListeners(signal, 'abort')).toHaveLength(0);
    });
  });
});

describe('resources', () => {
  it('100,000 contexts with deadlines leave no timers, listeners or heap behind', async () => {
    const parent = createContext({ timeoutMs: 3_600_000 });
    const parentSignal = parent.signal;
    // Deadline timers are unref'd, so process.getActiveResourcesInfo() does not list them: every
    // thousandth child is kept to check its timer was cleared, and the heap bounds the rest.
    const sampled: RequestContext[] = [];
    const gc = forcedGc();
    gc();
    const heapBefore = process.memoryUsage().heapUsed;
    await runWithContext(parent, async () => {
      for (let round = 0; round < 100; round++) {
        const batch: Promise<void>[] = [];
        for (let i = 0; i < 1000; i++) {
          batch.push(
            withTimeout(60_000, async () => {
              void currentContext().signal; // arms the child's timer and parent listener
              if (i === 0) sampled.push(currentContext());
            }),
          );
        }
        await Promise.all(batch);
        const owned = createContext({ timeoutMs: 60_000 });
        void owned.signal;
        owned.end();
        if (round === 0) sampled.push(owned);
      }
    });
    expect(getEventListeners(parentSignal, 'abort')).toHaveLength(0);
    expect(sampled).toHaveLength(101);
    for (const child of sampled) expect(timerOf(child)).toBeUndefined();
    gc();
    const grownMb = (process.memoryUsage().heapUsed - heapBefore) / 1e6;
    // Leaked contexts (100k × controller, signal, timer) would be tens of MB.
    expect(grownMb).toBeLessThan(5);
    parent.end();
    expect(timerOf(parent)).toBeUndefined();
  });

  it('end() is idempotent and clears the deadline timer', () => {
    const ctx = createContext({ timeoutMs: 60_000 });
    expect(timerOf(ctx)).toBeUndefined(); // nothing armed until the signal is read
    const signal = ctx.signal;
    expect(timerOf(ctx)).toBeDefined();
    ctx.end();
    expect(timerOf(ctx)).toBeUndefined();
    ctx.end();
    ctx[Symbol.dispose]();
    expect(signal.aborted).toBe(false);
    ctx.cancel(); // cancelling after end still works, with nothing to release
    expect(signal.reason).toBeInstanceOf(CancelledError);
  });

  it('a deadline beyond what a Node timer takes is reported but not timed', async () => {
    const ctx = createContext({ timeoutMs: 40 * 24 * 3600 * 1000 });
    const signal = ctx.signal; // arms the deadline, if it were armed at all
    // Node would clamp such a delay to 1 ms: a timer armed now would abort the signal at once.
    expect(timerOf(ctx)).toBeUndefined();
    // Timers fire in order of expiry: one clamped to 1 ms would have fired before this one.
    await sleep(5);
    expect(signal.aborted).toBe(false);
    expect(ctx.remainingMs()).toBeGreaterThan(2 ** 31);
    ctx.end();
  });
});

describe('bindContext', () => {
  it('runs the bound function in the context of binding, with this and arguments', () => {
    let bound!: (this: { n: number }, x: number) => string;
    runWithContext(createContext({ traceId: 'bound-1' }), () => {
      bound = bindContext(function (this: { n: number }, x: number) {
        return `${currentContext().legacyTraceId}:${this.n + x}`;
      });
    });
    const other: RequestContext = createContext({ traceId: 'other' });
    expect(runWithContext(other, () => bound.call({ n: 1 }, 2))).toBe('bound-1:3');
  });

  it('bound outside any request, runs outside any request', () => {
    const fn = bindContext(() => tryCurrentContext());
    expect(runWithContext(createContext(), fn)).toBeUndefined();
  });
});

describe('assign (owner only)', () => {
  it('adds the user id learnt after creation, validated', () => {
    const ctx = createContext();
    ctx.assign({ userId: 'u-9', tenantId: 'acme' });
    expect(ctx.userId).toBe('u-9');
    expect(ctx.metadata.get('user-id')).toBe('u-9');
    expect(ctx.get(tenant)).toBe('acme');
    expect(() => ctx.assign({ userId: 'bad\nvalue' })).toThrow(InvalidMetadataError);
    expect(ctx.userId).toBe('u-9');
  });
});

describe('one typed-key path', () => {
  it('reads a key by the same name rule it is written with', () => {
    withValues({ tenantId: 'acme' }, () => {
      const ctx = currentContext();
      expect([ctx.get('tenantId'), ctx.get('tenant-id'), ctx.get('tenant_id'), ctx.get(tenant)]).toEqual(['acme', 'acme', 'acme', 'acme']);
      expect(ctx.get('userId')).toBeUndefined();
    });
    withValue(tenant, 'globex', () => expect(currentContext().get('TenantId')).toBe('globex'));
  });

  it('children created before assign() agree with it: one value, whichever way it is read', () => {
    const parent = createContext();
    let child!: RequestContext;
    let valued!: RequestContext;
    runWithContext(parent, () =>
      withTimeout(60_000, () => {
        child = currentContext();
        withValues({ tenantId: 'acme' }, () => {
          valued = currentContext();
        });
      }),
    );
    parent.assign({ userId: 'u-late' });
    expect([child.userId, child.get('user-id'), child.metadata.get('user-id')]).toEqual(['u-late', 'u-late', 'u-late']);
    // A child given values of its own took a copy before: it agrees with itself.
    expect([valued.userId, valued.get('user-id')]).toEqual([undefined, undefined]);
    // A child writing never reaches its parent.
    (child as OwnedContext).assign({ tenantId: 'globex' });
    expect([child.get(tenant), parent.get(tenant)]).toEqual(['globex', undefined]);
    expect(child.userId).toBe('u-late');
    parent.end();
  });
});

describe('assign limits', () => {
  it('checks every value and the totals before writing anything', () => {
    const ctx = createContext({ userId: 'u-1' });
    expect(() => ctx.assign({ userId: 'u-2', tenantId: 'bad value\n' })).toThrow(InvalidMetadataError);
    expect(ctx.userId).toBe('u-1');
    const big = defineKey('big-blob', { maxLength: 1024 });
    const filler = createContext();
    filler.assign({ [big.name]: 'x'.repeat(1024) });
    expect(() => ctx.assign({ [big.name]: 'y'.repeat(1024), tenantId: 'acme' })).not.toThrow();
    const huge = Array.from({ length: 4 }, (_, i) => defineKey(`huge-${i}`, { maxLength: 1024 }).name);
    expect(() => ctx.assign(Object.fromEntries(huge.map((k) => [k, 'z'.repeat(1024)])))).toThrow(/4096 bytes/);
    expect(ctx.get(huge[0]!)).toBeUndefined();
  });
});

describe('abort listeners', () => {
  it('run in the context that aborted, wherever its signal was first read', async () => {
    const ctx = createContext({ timeoutMs: 10 });
    const signal = ctx.signal; // read outside: the timer is armed here, with no context current
    const seen = new Promise<string | undefined>((resolve) =>
      signal.addEventListener('abort', () => resolve(tryCurrentContext()?.traceId), { once: true }),
    );
    expect(await seen).toBe(ctx.traceId);
    const parent = createContext();
    const childSeen = runWithContext(parent, () =>
      withCancel(
        () =>
          new Promise<string | undefined>((resolve) => {
            const child = currentContext();
            child.signal.addEventListener('abort', () => resolve(tryCurrentContext() === child ? 'child' : 'other'));
            runWithContext(createContext(), () => parent.cancel());
          }),
      ),
    );
    expect(await childSeen).toBe('child');
  });
});
