import { type OwnedContext, runWithContext } from '@ctxkit/core';
import { compileHttpContext, type HttpContextStarter } from '@ctxkit/core/adapter';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { bindStreams, isBound } from './bind-emitter.js';
import { armDeadlineReply } from './deadline-reply.js';
import type { CtxkitExpressOptions } from './options.js';
import { resolveUserThenNext } from './resolve-user.js';

type ResolveUser = CtxkitExpressOptions['resolveUser'];

/**
 * Creates the Express middleware that runs the rest of each request inside a ctxkit context:
 * `currentContext()` (and `req.ctx`) in every later middleware, router, handler, error
 * middleware, Express 5 async handler, and in the listeners of the request and response
 * streams (body parsers included), on Express 4 and 5.
 *
 * Per request: the context is built from the headers by core (with the default edge rule only
 * the trace id is taken from the client; with `trust: 'internal'` also the request id, user id
 * and declared keys of trusted peers), `trace-id` and
 * `request-id` reply headers are set, a client disconnect cancels the context
 * (`CancelledError`), and when a deadline applies (`request-timeout-ms` header,
 * `defaultTimeoutMs`, clamped to `maxTimeoutMs`) its passing answers 504 unless the response
 * has started. Mount it first, or at least before anything that reads the context.
 *
 * A second ctxkit middleware on the same request (a sub-app mounting its own) does not start a
 * second context: it re-enters the first. Nor does the middleware on a request another ctxkit
 * adapter serves (the Fastify plugin, when both run under NestJS): it joins that context, whose
 * deadline and disconnect stay that adapter's.
 *
 * @throws RangeError (at creation) for a negative or non-finite timeout option.
 * @example
 * const app = express();
 * app.use(ctxkit({ defaultTimeoutMs: 5_000 })); // edge rule: a client sets only the trace id
 * app.use(express.json());
 * app.post('/orders', async (req, res) => {
 *   const { userId, signal } = currentContext();
 *   res.json(await orders.create(req.body, { userId, signal }));
 * });
 * app.use(ctxkitErrorHandler());
 */
export function ctxkit(options: CtxkitExpressOptions = {}): RequestHandler {
  // No trust override: core's default is the edge rule, safe when this is copied into a public app.
  const start = compileHttpContext<Request>(options);
  const resolveUser = options.resolveUser;

  return function ctxkitMiddleware(req, res, next) {
    if (isBound(req)) {
      runWithContext(req.ctx, proceed, next);
      return;
    }
    const joined = start.contextOf(res);
    const ctx = joined ?? start.start(req, res); // onDrop's origin defaults to req, Express's Request itself
    req.ctx = ctx;
    bindStreams(req, res);
    const arm = joined === undefined && ctx.deadline !== undefined;
    // No deadline of ours and no resolver (the common internal call): straight on to next().
    if (!arm && resolveUser === undefined) runWithContext(ctx, proceed, next);
    else runWithContext(ctx, continueInContext, start, ctx, req, res, next, resolveUser, arm);
  };
}

function proceed(next: NextFunction): void {
  next();
}

function continueInContext(
  start: HttpContextStarter<Request>,
  ctx: OwnedContext,
  req: Request,
  res: Response,
  next: NextFunction,
  resolveUser: ResolveUser,
  arm: boolean,
): void {
  // Armed in the context: the deadline's timer, and so every abort listener, runs in it.
  if (arm && !armDeadlineReply(start, ctx, res)) return;
  if (resolveUser === undefined) next();
  else resolveUserThenNext(start, resolveUser, ctx, req, res, next);
}
