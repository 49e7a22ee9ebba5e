import type { OwnedContext } from '@ctxkit/core';
import type { HttpContextStarter } from '@ctxkit/core/adapter';
import type { FastifyRequest, preHandlerHookHandler } from 'fastify';
import type { CtxkitFastifyOptions } from './options.js';
import type { LogBinder } from './request-log.js';

type ResolveUser = NonNullable<CtxkitFastifyOptions['resolveUser']>;

/**
 * Builds, once, the `preHandler` hook that sets the user id from `resolveUser` (through core,
 * which assigns it and validates it: a bad id is answered 500), and adds it to the request's log.
 */
export function compileResolveUserHook(
  starter: HttpContextStarter<FastifyRequest>,
  resolve: ResolveUser,
  log: LogBinder | undefined,
): preHandlerHookHandler {
  return function ctxkitResolveUser(request, reply, done) {
    starter.resolveUser(request.ctx as OwnedContext, resolve, request, (error, userId) => {
      if (error !== undefined) {
        done(error as Error);
        return;
      }
      if (log !== undefined && userId !== undefined) log.user(request, reply, userId);
      done();
    });
  };
}
