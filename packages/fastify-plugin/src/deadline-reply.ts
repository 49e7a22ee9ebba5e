import { DeadlineExceededError, type OwnedContext, runWithContext } from '@ctxkit/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { sendErrorReply } from './error-handler.js';
import { markAnswered } from './handler-guard.js';

/**
 * Answers 504 when the context's deadline passes before a reply was sent; called by core, in the
 * context, when it aborts (a cancellation means the client left: nothing is sent). The 504 is
 * written directly, not through the error handler, so that it is ctxkit's answer whatever error
 * handler the application installed.
 */
export function replyDeadline(reply: FastifyReply, reason: Error): void {
  if (reason instanceof DeadlineExceededError) sendDeadline(reply.request, reply, reason);
}

/**
 * Fastify's own handler timeout (`FST_ERR_HANDLER_TIMEOUT`, 503 by itself) is the same event as
 * the context's deadline, since the deadline is capped by it, and it fires first (Fastify armed
 * its timer before ctxkit's). Fastify aborts `request.signal` before it sends its error and
 * leaves a reply a listener sent intact: this listener answers ctxkit's 504 there, then aborts
 * the context with {@link DeadlineExceededError}. Only for routes with a handler timeout.
 */
export class HandlerTimeoutReply {
  readonly #request: FastifyRequest;
  readonly #reply: FastifyReply;

  constructor(request: FastifyRequest, reply: FastifyReply) {
    this.#request = request;
    this.#reply = reply;
  }

  handleEvent(event: Event): void {
    const reason = (event.target as AbortSignal).reason as { code?: unknown } | undefined;
    if (reason?.code !== 'FST_ERR_HANDLER_TIMEOUT') return; // a disconnect: core cancels the context
    const timedOut = new DeadlineExceededError();
    runWithContext(this.#request.ctx, sendDeadline, this.#request, this.#reply, timedOut);
    // After sending: aborting runs the context's listeners synchronously, and they must find
    // the reply already sent.
    (this.#request.ctx as OwnedContext).cancel(timedOut);
  }
}

/**
 * Sends the deadline's 504 unless a reply already started (a stream's headers are out: it is
 * left to finish or fail; its work sees the aborted signal).
 */
export function sendDeadline(request: FastifyRequest, reply: FastifyReply, reason: DeadlineExceededError): void {
  if (reply.sent || reply.raw.headersSent) return;
  markAnswered(reply); // the handler, still running, is not to answer again (see guardHandler)
  sendErrorReply(reply, reason, request.ctx);
}

/**
 * Answers a request refused before its handler ran (see `minBudgetMs`): ctxkit's 504 for a budget
 * too short or a passed deadline. A request whose client already left gets nothing: nobody reads it,
 * and the socket is gone.
 */
export function sendRefusal(request: FastifyRequest, reply: FastifyReply, reason: Error): void {
  if (!(reason instanceof DeadlineExceededError)) return;
  sendErrorReply(reply, reason, request.ctx);
}
