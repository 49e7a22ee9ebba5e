import type { OwnedContext } from '@ctxkit/core';
import type { HttpContextStarter } from '@ctxkit/core/adapter';
import type { NextFunction, Request, Response } from 'express';
import type { CtxkitExpressOptions } from './options.js';

type ResolveUser = NonNullable<CtxkitExpressOptions['resolveUser']>;

/**
 * Runs `resolveUser` through core (assigning the user id it gives), then continues the chain;
 * errors go to Express's error middleware.
 */
export function resolveUserThenNext(
  start: HttpContextStarter<Request>,
  resolve: ResolveUser,
  ctx: OwnedContext,
  req: Request,
  res: Response,
  next: NextFunction,
): void {
  start.resolveUser(ctx, resolve, req, (error) => {
    if (error !== undefined) next(error);
    // The deadline may have been answered (504) or the client gone while the resolver ran.
    else if (!res.writableEnded && !res.destroyed) next();
  });
}
