import { CtxkitError, type RequestContext } from '@ctxkit/core';
import { errorResponse, isStatusError } from '@ctxkit/core/adapter';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** A Fastify error handler, as `setErrorHandler` takes it. */
export type FastifyErrorHandler = (
  this: FastifyInstance,
  error: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
) => unknown;

/**
 * Sends core's `errorResponse` for `error` directly (status and JSON `{ code, message, traceId }`),
 * without Fastify's error handler: ctxkit's own answers (the deadline's 504) must not depend on
 * the handler the application chose.
 *
 * @returns whether the error is unexpected (to be logged in full).
 */
export function sendErrorReply(reply: FastifyReply, error: unknown, ctx: RequestContext | null | undefined): boolean {
  const { status, body, internal } = errorResponse(error, ctx ?? undefined);
  reply.code(status).type('application/json; charset=utf-8').send(body);
  return internal;
}

/**
 * An error handler for the application to install: answers every error with core's
 * `errorResponse` (the HTTP status of a gRPC status error or ctxkit error, a Fastify 4xx kept,
 * anything else 500) and a JSON body `{ code, message, traceId }` that never carries internals.
 * Unexpected errors are logged in full on `request.log`, whose lines carry the trace id.
 *
 * The plugin never installs it: an application's error handler is the application's. To keep
 * your own handler for everything ctxkit does not know, use {@link composeErrorHandler}.
 *
 * @example
 * await app.register(ctxkit, { defaultTimeoutMs: 5_000 });
 * app.setErrorHandler(ctxkitErrorHandler);
 */
export function ctxkitErrorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const ctx = request.ctx as RequestContext | null;
  if (sendErrorReply(reply, error, ctx)) request.log.error({ err: error }, 'request failed');
}

/**
 * Composes ctxkit's error mapping with the application's own handler: ctxkit errors
 * (`DeadlineExceededError` → 504, `CancelledError` → 499, `InvalidMetadataError`…) and gRPC
 * status errors (`NOT_FOUND` → 404…) are answered as {@link ctxkitErrorHandler} does; every
 * other error goes to `own`, unchanged, with Fastify's `this`.
 *
 * @example
 * app.setErrorHandler(composeErrorHandler((error, request, reply) => {
 *   reply.code(error.statusCode ?? 500).send({ message: 'sorry' });
 * }));
 */
export function composeErrorHandler(own: FastifyErrorHandler): FastifyErrorHandler {
  return function ctxkitComposedErrorHandler(error, request, reply) {
    if (error instanceof CtxkitError || isStatusError(error)) return ctxkitErrorHandler(error, request, reply);
    return own.call(this, error, request, reply);
  };
}
