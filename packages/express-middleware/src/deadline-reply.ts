import { DeadlineExceededError, type RequestContext } from '@ctxkit/core';
import type { HttpContextStarter } from '@ctxkit/core/adapter';
import type { ServerResponse } from 'node:http';
import { sendError } from './send-error.js';

type ServedResponse = ServerResponse & { req: { ctx: RequestContext } };

/**
 * Arms the 504 for `ctx` on `res`: core times the deadline in its shared queue and calls
 * {@link replyDeadline} when the context aborts. No signal, listener or object per request;
 * requests without a deadline never arm it.
 *
 * @returns `false` when the deadline has already passed (a `request-timeout-ms: 0`, say): the
 *   504 is sent and the rest of the chain must not run.
 */
export function armDeadlineReply(start: Pick<HttpContextStarter, 'onAbort'>, ctx: RequestContext, res: ServerResponse): boolean {
  const aborted = start.onAbort(ctx, replyDeadline, res as ServedResponse);
  if (aborted === undefined) return true;
  replyDeadline(res as ServedResponse, aborted);
  return false;
}

/**
 * Answers 504 when a request's deadline passes before its response started. A cancellation (the
 * client left) sends nothing: nobody is there to read it. A response whose headers are out (a
 * stream, say) is left to finish or fail; its work sees the aborted signal.
 */
function replyDeadline(res: ServedResponse, reason: unknown): void {
  if (!(reason instanceof DeadlineExceededError) || res.headersSent || res.destroyed || res.req.socket.destroyed) return;
  sendError(res, reason, res.req.ctx);
}
