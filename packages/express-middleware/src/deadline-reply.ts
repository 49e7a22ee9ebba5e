import { DeadlineExceededError, type RequestContext } from '@ctxkit/core';
import type { ServerResponse } from 'node:http';
import { sendError } from './send-error.js';

/**
 * Answers 504 when a request's deadline passes before its response started. One small object
 * per request that has a deadline (an `EventListener` object, not a closure); requests without
 * a deadline never create it, nor the timer behind `ctx.signal`.
 *
 * A cancellation (the client left) sends nothing: nobody is there to read it. A response whose
 * headers are out (a stream, say) is left to finish or fail; its work sees the aborted signal.
 */
export class DeadlineReply {
  readonly #res: ServerResponse;
  readonly #traceId: string;

  constructor(res: ServerResponse, traceId: string) {
    this.#res = res;
    this.#traceId = traceId;
  }

  handleEvent(event: Event): void {
    replyDeadline(this.#res, (event.target as AbortSignal).reason, this.#traceId);
  }
}

/**
 * Arms the 504 for `ctx` on `res`. Reading `ctx.signal` starts the deadline's timer.
 *
 * @returns `false` when the deadline has already passed (a `request-timeout-ms: 0`, say): the
 *   504 is sent and the rest of the chain must not run.
 */
export function armDeadlineReply(ctx: RequestContext, res: ServerResponse): boolean {
  const signal = ctx.signal;
  if (signal.aborted) {
    replyDeadline(res, signal.reason, ctx.traceId);
    return false;
  }
  signal.addEventListener('abort', new DeadlineReply(res, ctx.traceId), { once: true });
  return true;
}

function replyDeadline(res: ServerResponse, reason: unknown, traceId: string): void {
  if (!(reason instanceof DeadlineExceededError) || res.headersSent || res.destroyed || res.req.socket.destroyed) return;
  sendError(res, reason, traceId);
}
