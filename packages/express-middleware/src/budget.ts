import { DeadlineExceededError, NoContextError } from '@ctxkit/core';
import { compileAdmission } from '@ctxkit/core/adapter';
import type { Request, RequestHandler } from 'express';
import { sendError } from './send-error.js';

/** Options of {@link requireBudget}. */
export interface RequireBudgetOptions {
  /**
   * The name refusals are counted under in `refusedRequests()`. Default `'<METHOD> <route path>'`
   * (`'GET /report'`) on a route, else `'requireBudget(<ms>)'`: never the raw URL, whose
   * distinct values are unbounded.
   */
  readonly name?: string | undefined;
}

/**
 * Per-route admission by budget: a middleware that refuses a request whose remaining budget is
 * below `minBudgetMs` (or whose deadline has passed, or whose client has left) before the
 * handlers after it run, with ctxkit's 504 (`{ code: 'DEADLINE_EXCEEDED', message, traceId }`),
 * counted in `refusedRequests()` and published on `REFUSED_CHANNEL`. A request without a deadline
 * is never refused for its budget. Mount it after the `ctxkit()` middleware, first on the route.
 *
 * @param minBudgetMs the least time, ms, the route needs to answer usefully.
 * @throws RangeError (at creation) when `minBudgetMs` is negative or not finite.
 * @example
 * app.use(ctxkit({ defaultTimeoutMs: 5_000 }));
 * app.get('/report', requireBudget(200), buildReport);
 */
export function requireBudget(minBudgetMs: number, options: RequireBudgetOptions = {}): RequestHandler {
  const name = options.name;
  const admit = compileAdmission(minBudgetMs, name ?? 'requireBudget()');
  return function ctxkitRequireBudget(req, res, next) {
    const ctx = req.ctx as Request['ctx'] | undefined;
    if (ctx === undefined) {
      next(new NoContextError('requireBudget() found no ctxkit context: mount the ctxkit() middleware before it.'));
      return;
    }
    const refused = admit(ctx, name ?? labelOf(req, minBudgetMs), req);
    if (refused === undefined) next();
    // A client that left gets nothing (nobody reads it) and nothing after this runs.
    else if (refused instanceof DeadlineExceededError && !res.headersSent) sendError(res, refused, ctx);
  };
}

/** The route's method and path pattern (bounded), built only for a refusal. */
function labelOf(req: Request, minBudgetMs: number): string {
  const path = (req.route as { path?: unknown } | undefined)?.path;
  return path === undefined ? `requireBudget(${minBudgetMs})` : `${req.method} ${String(path)}`;
}
