import type { FastifyReply, RouteHandlerMethod } from 'fastify';

const GUARDED = Symbol('ctxkit.fastify.guarded');
type Guarded = RouteHandlerMethod & { [GUARDED]?: true };

/** Replies ctxkit answered 504 while their handler was still running. */
const answered = new WeakSet<FastifyReply>();

/** Records that ctxkit answered this reply with 504 before its handler finished. */
export function markAnswered(reply: FastifyReply): void {
  answered.add(reply);
}

/**
 * Wraps an async route handler so that how it ends after ctxkit answered 504 is not reported as
 * a fault: the rejection it usually ends with (its aborted downstream call's deadline error)
 * would be logged by Fastify at error level ("Promise errored, but reply.sent = true was set"),
 * and a late return value would be sent again ("Reply was already sent"). Such an ending is
 * logged at debug level instead. Before a 504, or without one, everything the handler returns or
 * throws reaches Fastify unchanged. Handlers that are not `async` functions are left alone: an
 * `undefined` return means "I reply myself" only for them, so they cannot be wrapped in a promise.
 */
export function guardHandler(handler: RouteHandlerMethod): RouteHandlerMethod {
  if ((handler as Guarded)[GUARDED] === true || handler.constructor.name !== 'AsyncFunction') return handler;
  const guarded: Guarded = async function ctxkitGuardedHandler(this: ThisParameterType<RouteHandlerMethod>, request, reply) {
    let result: unknown;
    try {
      result = await handler.call(this, request, reply);
    } catch (error) {
      if (!answered.has(reply)) throw error;
      request.log.debug({ err: error }, 'handler failed after the deadline reply');
      return undefined;
    }
    // Fast path: a reply not sent yet was not answered by ctxkit either.
    if (!reply.sent || !answered.has(reply)) return result;
    request.log.debug('handler returned after the deadline reply');
    return undefined;
  };
  guarded[GUARDED] = true;
  return guarded;
}
