/** Reading and entering the current context: the one AsyncLocalStorage, and callbacks bound to it. */
import type { RequestContext } from './context.js';
import { NoContextError } from './errors.js';
import { als } from './storage.js';

/**
 * Runs `fn(...args)` with `ctx` as the current context; everything `fn` awaits or schedules
 * inherits it. Does not end `ctx`.
 */
export function runWithContext<R, A extends unknown[] = []>(ctx: RequestContext, fn: (...args: A) => R, ...args: A): R {
  return als.run(ctx, fn, ...args);
}

/**
 * Returns the context of the request being served.
 *
 * @throws {@link NoContextError} outside a request; {@link tryCurrentContext} probes instead.
 */
export function currentContext(): RequestContext {
  return als.getStore() ?? throwNoContext();
}

function throwNoContext(): never {
  throw new NoContextError();
}

/** Returns the context of the request being served, or `undefined` outside any request. */
export function tryCurrentContext(): RequestContext | undefined {
  return als.getStore();
}

/**
 * Returns a function that runs `fn` in the context current now, wherever it is called from.
 * For EventEmitter listeners, callback-style pools and queues, which lose the context.
 */
export function bindContext<F extends (...args: any[]) => any>(fn: F): F {
  const ctx = als.getStore();
  if (ctx === undefined) {
    return function unbound(this: unknown, ...args: unknown[]) {
      return als.exit(() => fn.apply(this, args));
    } as F;
  }
  return function bound(this: unknown, ...args: unknown[]) {
    return als.run(ctx, () => fn.apply(this, args));
  } as F;
}
