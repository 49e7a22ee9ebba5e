import type { OwnedContext } from '@ctxkit/core';
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction, preHandlerHookHandler } from 'fastify';
import type { CtxkitFastifyOptions } from './options.js';
import type { LogBinder } from './request-log.js';

type ResolveUser = NonNullable<CtxkitFastifyOptions['resolveUser']>;

/**
 * Builds, once, the `preHandler` hook that sets the user id from `resolveUser`. A synchronous
 * resolver costs no promise; an asynchronous one resumes in the request's context (promise
 * continuations keep the context of the code that awaited them).
 */
export function compileResolveUserHook(resolveUser: ResolveUser, log: LogBinder | undefined): preHandlerHookHandler {
  function assignUser(request: FastifyRequest, reply: FastifyReply, userId: unknown, done: HookHandlerDoneFunction): void {
    if (userId === undefined) {
      done();
      return;
    }
    try {
      // assign() validates: a bad id throws InvalidMetadataError, answered 500.
      (request.ctx as OwnedContext).assign({ userId: userId as string });
    } catch (error) {
      done(error as Error);
      return;
    }
    if (log !== undefined) log.user(request, reply, userId as string);
    done();
  }

  return function ctxkitResolveUser(request, reply, done) {
    let result: string | undefined | Promise<string | undefined>;
    try {
      result = resolveUser(request);
    } catch (error) {
      done(error as Error);
      return;
    }
    if (result !== null && typeof result === 'object' && typeof result.then === 'function') {
      result.then(
        (userId) => assignUser(request, reply, userId, done),
        (error: unknown) => done(error as Error),
      );
    } else {
      assignUser(request, reply, result, done);
    }
  };
}
