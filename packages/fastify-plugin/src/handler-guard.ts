import type { OwnedContext } from '@ctxkit/core';
import type { FastifyReply, FastifyRequest, RouteHandlerMethod } from 'fastify';
import type { CtxkitFastifyOptions } from './options.js';
import type { LogBinder } from './request-log.js';

const GUARDED = Symbol('ctxkit.fastify.guarded');
type Guarded = RouteHandlerMethod & { [GUARDED]?: true };
type ResolveUser = NonNullable<CtxkitFastifyOptions['resolveUser']>;

/** Replies ctxkit answered 504 while their handler was still running. */
const answered = new WeakSet<FastifyReply>();

/** Records that ctxkit answered this reply with 504 before its handler finished. */
export function markAnswered(reply: FastifyReply): void {
  answered.add(reply);
}

/** What the guard runs right before the handler: `resolveUser`, when the plugin has one. */
export interface GuardOptions {
  readonly resolveUser?: ResolveUser | undefined;
  readonly log?: LogBinder | undefined;
}

/**
 * Wraps an async route handler so that how it ends after ctxkit answered 504 is not reported as
 * a fault: the rejection it usually ends with (its aborted downstream call's deadline error)
 * would be logged by Fastify at error level ("Promise errored, but reply.sent = true was set"),
 * and a late return value would be sent again ("Reply was already sent"). Such an ending is
 * logged at debug level instead. Before a 504, or without one, everything the handler returns or
 * throws reaches Fastify unchanged. Handlers that are not `async` functions are left alone: an
 * `undefined` return means "I reply myself" only for them, so they cannot be wrapped in a promise.
 *
 * With `resolveUser`, the wrapper sets the user id right before the handler: after every
 * `preHandler` hook, as a last `preHandler` would, without one more hook per request. A resolver
 * that throws, rejects or returns an id that cannot go on the wire fails the request as a
 * throwing handler does (through the error handler, `InvalidMetadataError` answered 500).
 * @returns `undefined` when the handler is left alone (not async, or guarded already): then the
 *   caller runs `resolveUser` itself.
 */
export function guardHandler(handler: RouteHandlerMethod, options: GuardOptions = {}): RouteHandlerMethod | undefined {
  if ((handler as Guarded)[GUARDED] === true || handler.constructor.name !== 'AsyncFunction') return undefined;
  const { resolveUser, log } = options;
  // The handler's ending needs watching only where ctxkit may answer first: its 504 comes from
  // a deadline, and a request without one (no budget asked, none by default) costs no promise more.
  // A synchronous resolver costs no promise either: a throw from here fails the request as a
  // throwing handler does (Fastify catches it), and only an asynchronous one needs `watched`.
  const guarded: Guarded = function ctxkitGuardedHandler(this: ThisParameterType<RouteHandlerMethod>, request, reply) {
    if (resolveUser !== undefined) {
      const pending = assignUser(request, reply, resolveUser, log);
      if (pending !== undefined) return watched.call(this, request, reply, pending);
    }
    const result = handler.call(this, request, reply);
    if ((request.ctx as OwnedContext | null)?.deadline === undefined) return result;
    return watch(result as Promise<unknown>, request, reply);
  };
  const watched = async function ctxkitWatchedHandler(
    this: ThisParameterType<RouteHandlerMethod>,
    request: FastifyRequest,
    reply: FastifyReply,
    pending: Promise<void>,
  ) {
    let result: unknown;
    try {
      await pending;
      // The deadline may have been answered, or the client gone, while the resolver ran.
      if (reply.sent) return undefined;
      result = await handler.call(this, request, reply);
    } catch (error) {
      return lateRejection(error, request, reply);
    }
    return lateValue(result, request, reply);
  };
  guarded[GUARDED] = true;
  return guarded;
}

/**
 * The handler's promise, with what it ends with after ctxkit answered 504 turned into nothing:
 * one derived promise (an `async` wrapper costs a promise, a generator and two resumptions).
 */
function watch(result: Promise<unknown>, request: FastifyRequest, reply: FastifyReply): Promise<unknown> {
  return result.then(
    (value) => lateValue(value, request, reply),
    (error: unknown) => lateRejection(error, request, reply),
  );
}

/** What the handler returned, unless ctxkit answered first (then it is logged, not sent again). */
function lateValue(result: unknown, request: FastifyRequest, reply: FastifyReply): unknown {
  // Fast path: a reply not sent yet was not answered by ctxkit either.
  if (!reply.sent || !answered.has(reply)) return result;
  request.log.debug('handler returned after the deadline reply');
  return undefined;
}

/** Rethrows what the handler threw, unless ctxkit answered first (then it is logged at debug). */
function lateRejection(error: unknown, request: FastifyRequest, reply: FastifyReply): undefined {
  if (!answered.has(reply)) throw error;
  request.log.debug({ err: error }, 'handler failed after the deadline reply');
  return undefined;
}

/** Runs the resolver (awaited only when it returns a promise) and assigns the id through core. */
function assignUser(request: FastifyRequest, reply: FastifyReply, resolve: ResolveUser, log: LogBinder | undefined): void | Promise<void> {
  const result = resolve(request);
  if (result !== null && typeof result === 'object' && typeof (result as PromiseLike<unknown>).then === 'function') {
    return Promise.resolve(result).then(
      (userId) => assign(request, reply, userId, log),
      (error: unknown) => {
        throw error ?? new Error('resolveUser rejected');
      },
    );
  }
  assign(request, reply, result as string | undefined, log);
}

function assign(request: FastifyRequest, reply: FastifyReply, userId: string | undefined, log: LogBinder | undefined): void {
  if (userId === undefined) return;
  (request.ctx as OwnedContext).assign({ userId }); // validated by core: a bad id throws InvalidMetadataError
  if (log !== undefined) log.user(request, reply, userId);
}
