import type { RequestContext } from '@ctxkit/core';
import { errorResponse } from '@ctxkit/core/adapter';
import type { ServerResponse } from 'node:http';

/**
 * Answers `error` with core's `errorResponse` (status and JSON `{ code, message, traceId }`)
 * through Node's own response API, so that it behaves the same on Express 4 and 5.
 *
 * @returns whether the error is unexpected (to be logged in full).
 */
export function sendError(res: ServerResponse, error: unknown, ctx: RequestContext | undefined): boolean {
  const { status, body, internal } = errorResponse(error, ctx);
  const json = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.setHeader('content-length', Buffer.byteLength(json));
  res.end(json);
  return internal;
}
