import { DeadlineExceededError, type OwnedContext } from '@ctxkit/core';
import { errorResponse } from '@ctxkit/core/adapter';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { markAnswered } from './handler-guard.js';

/**
 * Answers an error with core's `errorResponse`: the HTTP status of the gRPC or ctxkit code and
 * a JSON body `{ code, message, traceId }` that never carries internals. Unexpected errors are
 * logged in full on `request.log`, whose lines carry the trace id.
 *
 * Fastify's own handler timeout (`FST_ERR_HANDLER_TIMEOUT`, 503 by itself) is the same event
 * as the context's deadline, since the deadline is capped by it: it is answered 504 like a
 * deadline, and the context is aborted with {@link DeadlineExceededError} at that moment.
 */
export function ctxkitErrorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const ctx = request.ctx as OwnedContext | null;
  const timedOut = error.code === 'FST_ERR_HANDLER_TIMEOUT' ? new DeadlineExceededError() : undefined;
  const { status, body, internal } = errorResponse(timedOut ?? error, ctx?.traceId);
  if (internal) request.log.error({ err: error }, 'request failed');
  if (timedOut !== undefined) markAnswered(reply); // the handler is still running (see guardHandler)
  reply.code(status).type('application/json; charset=utf-8').send(body);
  // After sending: aborting runs the context's listeners synchronously, and they must find
  // the reply already sent.
  if (timedOut !== undefined) ctx?.cancel(timedOut);
}
