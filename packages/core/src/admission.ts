import type { RequestContext } from './context.js';
import { checkTimeout } from './deadline.js';
import { type RefusedMessage, refusedChannel } from './diagnostics.js';
import { DeadlineExceededError } from './errors.js';
import { slot } from './storage.js';

/**
 * The message of the 504 / DEADLINE_EXCEEDED a refused request gets. It names no figure: the
 * least time a route needs is the service's own business.
 */
const REFUSAL = 'deadline exceeded: not enough time left to serve this request';

/**
 * Checks, before a handler runs, whether a request has the least time its route or method needs.
 * `what` names the route or method, `origin` is what the adapter serves (for channel subscribers).
 * @returns `undefined` when admitted; else the error to answer with (see {@link compileAdmission}).
 */
export type Admission = (ctx: RequestContext, what: string, origin: unknown) => Error | undefined;

/**
 * Compiles, at set-up, the admission check of a route or method that needs `minBudgetMs`.
 *
 * @param where names the route or method in the error thrown for a bad figure.
 * @throws RangeError when `minBudgetMs` is not a finite number of milliseconds >= 0.
 * @example
 * const admit = compileAdmission(route.minBudgetMs, 'GET /report'); // once
 * const refused = admit(ctx, 'GET /report', request);              // per request
 * if (refused !== undefined) return answer(refused);
 */
export function compileAdmission(minBudgetMs: number, where: string): Admission {
  checkTimeout(minBudgetMs, `minBudgetMs of ${where}`);
  return function ctxkitAdmission(ctx, what, origin) {
    return admit(ctx, minBudgetMs, what, origin);
  };
}

/**
 * Decides, before a handler runs, whether a request has the least time its route or method needs.
 * Refused: a context whose deadline has passed, or whose remaining budget is below
 * `minBudgetMs`; and a context already aborted (its client left, its deadline fired) whatever
 * the budget, since nobody waits for that work any more. A context without a deadline is always
 * admitted unless aborted. Nothing is allocated unless refused.
 *
 * A refusal is counted under `what` (see {@link refusedRequests}) and published on
 * {@link REFUSED_CHANNEL} when someone subscribes.
 *
 * @param what the route or method, e.g. `'GET /orders'`, `'/shop.Orders/Create'`: a bounded
 *   name (a route pattern, never a raw URL), since counts are kept by it.
 * @param origin what the adapter serves (the Fastify request, the Express `req`, the gRPC call),
 *   for channel subscribers.
 * @returns `undefined` when admitted; else the error to answer with: the context's abort reason
 *   when it was aborted (a `CancelledError`: nobody is there to read an answer), else a
 *   {@link DeadlineExceededError} (HTTP 504, gRPC DEADLINE_EXCEEDED).
 */
function admit(ctx: RequestContext, minBudgetMs: number, what: string, origin: unknown): Error | undefined {
  const deadline = ctx.deadline;
  const left = deadline === undefined ? Number.POSITIVE_INFINITY : deadline - Date.now();
  // The time is compared, not the signal: a deadline that passed while the request waited (an
  // event loop too busy to fire timers, a slow interceptor) may not have aborted it yet.
  const aborted = abortReasonOf(ctx);
  if (left > 0 && left >= minBudgetMs && aborted === undefined) return undefined;
  const error = aborted ?? new DeadlineExceededError(REFUSAL);
  slot.refusals ??= new Map();
  const counts = slot.refusals;
  counts.set(what, (counts.get(what) ?? 0) + 1);
  if (refusedChannel.hasSubscribers) {
    const message: RefusedMessage = {
      what,
      remainingMs: Math.max(left, 0),
      minBudgetMs,
      reason: error,
      traceId: ctx.traceId,
      requestId: ctx.requestId,
      origin,
    };
    refusedChannel.publish(message);
  }
  return error;
}

/**
 * Counts of requests refused before their handler ran (not enough budget left, deadline passed,
 * or already cancelled), by route or method, since start or the last reset. Every adapter's
 * admission check adds to them.
 *
 * @example
 * refusedRequests(); // { 'GET /report': 12, '/shop.Orders/Create': 3 }
 */
export function refusedRequests(reset = false): Record<string, number> {
  const counts = slot.refusals;
  if (counts === undefined) return {};
  const out = Object.fromEntries(counts);
  if (reset) counts.clear();
  return out;
}

/**
 * Why `ctx` aborted, or `undefined`, without creating its signal (an `AbortController` and a
 * timer per request, which admission on every gRPC call must not cost). A context of another
 * copy of core is asked through its signal.
 */
export function abortReasonOf(ctx: RequestContext): Error | undefined {
  const own = (ctx as { _abortedReason?: () => Error | undefined })._abortedReason;
  if (own !== undefined) return own.call(ctx);
  return ctx.signal.aborted ? (ctx.signal.reason as Error) : undefined;
}
