import { DeadlineExceededError, runWithContext } from '@ctxkit/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { markAnswered } from './handler-guard.js';

/**
 * Listens to a context's signal and answers 504 when the deadline passes before a reply was
 * sent. One small object per request that has a deadline, instead of a closure; the reply goes
 * through the error handler (as a {@link DeadlineExceededError}) and `onError` hooks, in the
 * request's context.
 */
export class DeadlineReply {
  readonly #request: FastifyRequest;
  readonly #reply: FastifyReply;

  constructor(request: FastifyRequest, reply: FastifyReply) {
    this.#request = request;
    this.#reply = reply;
  }

  handleEvent(event: Event): void {
    const reason: unknown = (event.target as AbortSignal).reason;
    const reply = this.#reply;
    // A cancellation means the client left: nothing can be sent. A reply already started
    // (headers out, say a stream) is left to finish or fail; its work sees the aborted signal.
    if (!(reason instanceof DeadlineExceededError) || reply.sent || reply.raw.headersSent) return;
    runWithContext(this.#request.ctx, () => sendDeadline(reply, reason));
  }
}

/** Sends the deadline error; 504 is preset so that Fastify's default error handler keeps it. */
function sendDeadline(reply: FastifyReply, reason: DeadlineExceededError): void {
  markAnswered(reply); // the handler, still running, is not to answer again (see guardHandler)
  reply.code(504).send(reason);
}
