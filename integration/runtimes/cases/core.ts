/** The context model: isolation, children and cancellation, deadlines, abort listeners. */
import { once } from 'node:events';
import { createRequire } from 'node:module';
import {
  CancelledError,
  createContext,
  currentContext,
  DeadlineExceededError,
  NoContextError,
  type RequestContext,
  runWithContext,
  tryCurrentContext,
  withCancel,
  withTimeout,
  withValues,
} from '@ctxkit/core';
import { type Case, check, same } from '../harness.ts';

const tick = () => new Promise<void>((resolve) => setTimeout(resolve, Math.floor(Math.random() * 4)));

/** Steps through every kind of continuation and checks the context after each. */
async function walk(ctx: RequestContext, steps: number): Promise<void> {
  for (let i = 0; i < steps; i++) {
    await tick();
    same(currentContext(), ctx, 'after setTimeout');
    await new Promise<void>((resolve) => setImmediate(resolve));
    same(currentContext(), ctx, 'after setImmediate');
    await new Promise<void>((resolve) => queueMicrotask(resolve));
    await new Promise<void>((resolve) => process.nextTick(resolve));
    same(currentContext(), ctx, 'after queueMicrotask and nextTick');
    const seen = await new Promise<RequestContext | undefined>((resolve) => setTimeout(() => resolve(tryCurrentContext()), 0));
    same(seen, ctx, 'inside a timer callback');
  }
}

async function isolation(): Promise<void> {
  // 40 requests interleaved on one event loop; each must only ever see itself.
  const contexts = Array.from({ length: 40 }, () => createContext());
  await Promise.all(contexts.map((ctx) => runWithContext(ctx, () => walk(ctx, 5))));
  same(tryCurrentContext(), undefined, 'outside every run');
  for (const ctx of contexts) ctx.end();
}

async function childrenAndCancellation(): Promise<void> {
  const parent = createContext({ timeoutMs: 10_000 });
  await runWithContext(parent, async () => {
    // A child's deadline is never later than its parent's.
    await withTimeout(60_000, async () => same(currentContext().deadline, parent.deadline, 'child of a sooner parent'));
    await withTimeout(1_000, async () => check(currentContext().deadline! < parent.deadline!, 'a sooner child keeps its own deadline'));
    // Cancelling a child never reaches its parent.
    await withCancel(async (cancel) => {
      const child = currentContext();
      cancel();
      check(child.signal.aborted && child.signal.reason instanceof CancelledError, 'the child is cancelled');
      check(!parent.signal.aborted, 'the parent is untouched');
    });
    // Cancelling a parent reaches every descendant, with the parent's reason, after an await.
    await withValues({ userId: 'u-1' }, async () => {
      const child = currentContext();
      same(child.userId, 'u-1', 'a child with values');
      await withCancel(async () => {
        const grandchild = currentContext();
        const aborted = once(grandchild.signal, 'abort');
        await tick();
        parent.cancel();
        await aborted;
        check(grandchild.signal.reason instanceof CancelledError, 'the grandchild aborts with CancelledError');
        check(child.signal.aborted, 'the child aborted too');
      });
    });
  });
  parent.end();
}

async function deadlines(): Promise<void> {
  const ctx = createContext({ timeoutMs: 200 });
  await runWithContext(ctx, async () => {
    check(ctx.remainingMs() > 0 && ctx.remainingMs() <= 200, `remainingMs within the budget: ${ctx.remainingMs()}`);
    await once(ctx.signal, 'abort');
    check(ctx.signal.reason instanceof DeadlineExceededError, 'the deadline aborts with DeadlineExceededError');
    same(ctx.remainingMs(), 0, 'remainingMs after the deadline');
    // A child made after the deadline starts aborted.
    await withTimeout(1_000, async () => check(currentContext().signal.aborted, 'a child of an expired context is aborted'));
  });
  ctx.end();
}

async function abortListenersInContext(): Promise<void> {
  // Listeners added outside any context, or in another request's, still run in the context
  // that aborted: a deadline, a cancel, and a parent's cancel reaching a child.
  const other = createContext();
  const timed = createContext({ timeoutMs: 20 });
  const cancelled = createContext();
  const seen: [string, RequestContext | undefined, RequestContext][] = [];
  const listen = (name: string, ctx: RequestContext) =>
    ctx.signal.addEventListener('abort', () => seen.push([name, tryCurrentContext(), ctx]), { once: true });
  listen('deadline, listener added outside', timed);
  runWithContext(other, () => listen('cancel, listener added in another request', cancelled));
  const parentAborted = once(cancelled.signal, 'abort');
  const childDone = runWithContext(cancelled, () =>
    withCancel(async () => {
      const child = currentContext();
      runWithContext(other, () => listen('parent cancel, on the child', child));
      await parentAborted; // the child stays alive (not ended) until its parent is cancelled
    }),
  );
  await once(timed.signal, 'abort');
  runWithContext(other, () => cancelled.cancel());
  await childDone;
  for (const [name, got, want] of seen) same(got, want, name);
  same(seen.length, 3, 'listeners that ran');
  for (const ctx of [other, timed, cancelled]) ctx.end();
}

async function oneStorage(): Promise<void> {
  // The CommonJS build loaded beside the ESM one: one storage, one error class, one warning.
  const cjs = createRequire(import.meta.url)('@ctxkit/core') as typeof import('@ctxkit/core');
  check(cjs.createContext !== createContext, 'the CommonJS build is a second copy');
  const ctx = createContext();
  same(runWithContext(ctx, () => cjs.currentContext()), ctx, 'set through import, read through require');
  const back = cjs.createContext();
  same(cjs.runWithContext(back, () => tryCurrentContext()), back, 'set through require, read through import');
  const error = (() => {
    try {
      cjs.currentContext();
    } catch (e) {
      return e;
    }
  })();
  check(error instanceof NoContextError, "the CommonJS copy's NoContextError is an instance of the ESM class");
  ctx.end();
  back.end();
}

export const coreCases: readonly Case[] = [
  { id: 'isolation', run: isolation },
  { id: 'one-storage', run: oneStorage },
  { id: 'children-cancellation', run: childrenAndCancellation },
  { id: 'deadlines', run: deadlines },
  { id: 'abort-listener-context', run: abortListenersInContext },
];
