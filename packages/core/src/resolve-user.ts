import type { OwnedContext } from './context.js';

/** An application's way to name the authenticated user of a request: synchronous or not. */
export type UserResolver<O> = (origin: O) => string | undefined | PromiseLike<string | undefined>;

/**
 * Runs `resolve(origin)` and assigns the user id it gives to `ctx`, then calls
 * `done(undefined, userId)`; a throw, a rejection, or an id that cannot go on the wire
 * (`InvalidMetadataError` from `assign`) calls `done(error)` instead. A synchronous resolver
 * costs no promise; an asynchronous one resumes in the request's context (promise continuations
 * keep the context of the code that awaited them). What Fastify's and Express's `resolveUser`
 * option both do.
 * @experimental
 */
export function resolveUser<O>(
  ctx: OwnedContext,
  resolve: UserResolver<O>,
  origin: O,
  done: (error: unknown, userId?: string) => void,
): void {
  let result: string | undefined | PromiseLike<string | undefined>;
  try {
    result = resolve(origin);
  } catch (error) {
    done(error);
    return;
  }
  if (result !== null && typeof result === 'object' && typeof result.then === 'function') {
    result.then(
      (userId) => assignUser(ctx, userId, done),
      (error: unknown) => done(error ?? new Error('resolveUser rejected')),
    );
  } else {
    assignUser(ctx, result as string | undefined, done);
  }
}

function assignUser(ctx: OwnedContext, userId: string | undefined, done: (error: unknown, userId?: string) => void): void {
  if (userId !== undefined) {
    try {
      ctx.assign({ userId });
    } catch (error) {
      done(error);
      return;
    }
  }
  done(undefined, userId);
}
