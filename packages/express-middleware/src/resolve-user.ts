import type { OwnedContext } from '@ctxkit/core';
import type { NextFunction, Request, Response } from 'express';
import type { CtxkitExpressOptions } from './options.js';

type ResolveUser = NonNullable<CtxkitExpressOptions['resolveUser']>;

/**
 * Runs `resolveUser` and sets its result as the user id, then continues the chain. Called in
 * the request's context; an asynchronous resolver resumes in it too (promise continuations keep
 * the context of the code that subscribed). Errors go to Express's error middleware.
 */
export function resolveUserThenNext(
  resolveUser: ResolveUser,
  ctx: OwnedContext,
  req: Request,
  res: Response,
  next: NextFunction,
): void {
  let result: string | undefined | PromiseLike<string | undefined>;
  try {
    result = resolveUser(req);
  } catch (error) {
    next(error);
    return;
  }
  if (result !== null && typeof result === 'object' && typeof result.then === 'function') {
    result.then(
      (userId) => assignUser(ctx, res, userId, next),
      (error: unknown) => next(error),
    );
  } else {
    assignUser(ctx, res, result as string | undefined, next);
  }
}

function assignUser(ctx: OwnedContext, res: Response, userId: string | undefined, next: NextFunction): void {
  // The deadline may have been answered (504) or the client gone while the resolver ran.
  if (res.writableEnded || res.destroyed) return;
  if (userId !== undefined) {
    try {
      // assign() validates: an id that cannot go on the wire throws InvalidMetadataError (500).
      ctx.assign({ userId });
    } catch (error) {
      next(error);
      return;
    }
  }
  next();
}
