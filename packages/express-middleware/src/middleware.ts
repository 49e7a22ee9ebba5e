import { runWithContext } from '@ctxkit/core';
import { checkTimeout, compileHttpContext } from '@ctxkit/core/adapter';
import type { RequestHandler } from 'express';
import { bindEmitter, boundContext } from './bind-emitter.js';
import { armDeadlineReply } from './deadline-reply.js';
import type { CtxkitExpressOptions } from './options.js';
import { resolveUserThenNext } from './resolve-user.js';

/**
 * Creates the Express middleware that runs the rest of each request inside a ctxkit context:
 * `currentContext()` (and `req.ctx`) in every later middleware, router, handler, error
 * middleware, Express 5 async handler, and in the listeners of the request and response
 * streams (body parsers included), on Express 4 and 5.
 *
 * Per request: the context is built from the headers by core (trace id, and with the default
 * `trust: 'internal'` the request id, user id and declared keys of peers), `trace-id` and
 * `request-id` reply headers are set, a client disconnect cancels the context
 * (`CancelledError`), and when a deadline applies (`request-timeout-ms` header,
 * `defaultTimeoutMs`, clamped to `maxTimeoutMs`) its passing answers 504 unless the response
 * has started. Mount it first, or at least before anything that reads the context.
 *
 * A second ctxkit middleware on the same request (a sub-app mounting its own) does not start a
 * second context: it re-enters the first.
 *
 * @throws RangeError (at creation) for a negative or non-finite timeout option.
 * @example
 * const app = express();
 * app.use(ctxkit({ defaultTimeoutMs: 5_000 })); // internal service: trusts peers' keys
 * app.use(express.json());
 * app.post('/orders', async (req, res) => {
 *   const { traceId, userId, signal } = currentContext();
 *   res.json(await orders.create(req.body, { userId, signal }));
 * });
 * app.use(ctxkitErrorHandler());
 */
export function ctxkit(options: CtxkitExpressOptions = {}): RequestHandler {
  if (options.defaultTimeoutMs !== undefined) checkTimeout(options.defaultTimeoutMs, 'defaultTimeoutMs');
  if (options.maxTimeoutMs !== undefined) checkTimeout(options.maxTimeoutMs, 'maxTimeoutMs');
  const start = compileHttpContext({ ...options, trust: options.trust ?? 'internal' });
  const resolveUser = options.resolveUser;

  return function ctxkitMiddleware(req, res, next) {
    const existing = boundContext(req);
    if (existing !== undefined) {
      runWithContext(existing, next);
      return;
    }
    const ctx = start(req, res);
    req.ctx = ctx;
    bindEmitter(req, ctx);
    bindEmitter(res, ctx);
    if (ctx.deadline !== undefined) {
      // Armed inside the context: the timer, and so every abort listener, runs in it.
      runWithContext(ctx, () => {
        if (!armDeadlineReply(ctx, res)) return;
        if (resolveUser === undefined) next();
        else resolveUserThenNext(resolveUser, ctx, req, res, next);
      });
    } else if (resolveUser === undefined) {
      runWithContext(ctx, next);
    } else {
      runWithContext(ctx, () => resolveUserThenNext(resolveUser, ctx, req, res, next));
    }
  };
}
