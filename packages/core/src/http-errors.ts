import { abortReasonOf } from './admission.js';
import type { RequestContext } from './context.js';
import { CtxkitError, printable } from './errors.js';
import { Status, type StatusName, statusName, toHttpStatus } from './status.js';

/** The JSON body HTTP adapters send for an error. */
export interface ErrorBody {
  /** gRPC status name, e.g. `'NOT_FOUND'`. */
  readonly code: StatusName;
  /** A message safe to show the caller. */
  readonly message: string;
  /** The request's trace id, to quote when reporting the problem. */
  readonly traceId?: string | undefined;
}

/** How an error is answered over HTTP, and how it is logged. */
export interface ErrorResponse {
  readonly status: number;
  readonly body: ErrorBody;
  /** Whether the error is unexpected (5xx other than deadline/unavailable): log it in full. */
  readonly internal: boolean;
  /**
   * Whether the error is the expected consequence of the request context's abort rather than a
   * fault: a ctxkit error, a call that ended CANCELLED or DEADLINE_EXCEEDED, an aborted `fetch`, a
   * handler writing after ctxkit's 504. Such an ending is logged at debug level, never as an
   * error with a stack. `false` while the context is not aborted, and without a context.
   */
  readonly followsAbort: boolean;
}

// Messages of these codes come from servers' internals or from grpc-js itself (which names
// internal hosts: "Deadline exceeded after 0.8s,remote_addr=10.0.0.7:50051"): never shown.
const GENERIC: Partial<Record<number, string>> = {
  [Status.CANCELLED]: 'cancelled',
  [Status.UNKNOWN]: 'unknown error',
  [Status.DEADLINE_EXCEEDED]: 'deadline exceeded',
  [Status.UNIMPLEMENTED]: 'not implemented',
  [Status.INTERNAL]: 'internal error',
  [Status.UNAVAILABLE]: 'service unavailable',
  [Status.DATA_LOSS]: 'internal error',
};
// Unexpected on the server side: logged in full by the adapters.
const INTERNAL = new Set<number>([Status.UNKNOWN, Status.INTERNAL, Status.DATA_LOSS]);
const CODE_BY_HTTP: Readonly<Record<number, StatusName>> = {
  400: 'INVALID_ARGUMENT', 401: 'UNAUTHENTICATED', 403: 'PERMISSION_DENIED', 404: 'NOT_FOUND',
  405: 'UNIMPLEMENTED', 408: 'DEADLINE_EXCEEDED', 409: 'ABORTED', 412: 'FAILED_PRECONDITION',
  413: 'RESOURCE_EXHAUSTED', 415: 'INVALID_ARGUMENT', 416: 'OUT_OF_RANGE', 429: 'RESOURCE_EXHAUSTED',
  431: 'RESOURCE_EXHAUSTED', 499: 'CANCELLED',
};

/** Whether `error` looks like a gRPC status error (grpc-js `ServiceError` or `statusError()`). */
export function isStatusError(error: unknown): error is { code: number; details: string; message: string } {
  if (typeof error !== 'object' || error === null) return false;
  const e = error as { code?: unknown; details?: unknown };
  return typeof e.code === 'number' && Number.isInteger(e.code) && e.code >= 0 && e.code <= 16 && typeof e.details === 'string';
}

/**
 * Decides the HTTP answer to an error, once for every HTTP adapter: ctxkit errors and gRPC
 * status errors by the standard table (a status error's message is shown only for codes that
 * are the application's answer, such as NOT_FOUND or INVALID_ARGUMENT; transport and internal
 * codes get a generic message); framework errors with a 4xx status keep it; anything else is a
 * 500 whose message reveals nothing. `ctx`, the request's context, gives the body its trace id
 * and tells whether the error follows its abort.
 */
export function errorResponse(error: unknown, ctx?: RequestContext): ErrorResponse {
  const traceId = ctx?.traceId;
  const follows = followsAbort(error, ctx);
  if (error instanceof CtxkitError) {
    // ctxkit's own messages are safe except for programmer errors, which name keys and values.
    const code = error.grpcCode;
    const internal = INTERNAL.has(code);
    return reply(toHttpStatus(code), statusName(code), internal ? GENERIC[code]! : error.message, internal, traceId, follows);
  }
  if (isStatusError(error)) {
    const code = error.code;
    const message = GENERIC[code] ?? printable(error.details, 200);
    return reply(toHttpStatus(code), statusName(code), message, INTERNAL.has(code), traceId, follows);
  }
  if (typeof error === 'object' && error !== null) {
    const e = error as { statusCode?: unknown; status?: unknown; expose?: unknown; message?: unknown; name?: unknown };
    if (e.name === 'TimeoutError') return reply(504, 'DEADLINE_EXCEEDED', 'deadline exceeded', false, traceId, follows);
    const status = typeof e.statusCode === 'number' ? e.statusCode : e.status;
    if (typeof status === 'number' && status >= 400 && status < 500 && e.expose !== false) {
      const message = typeof e.message === 'string' ? printable(e.message, 200) : 'bad request';
      return reply(status, CODE_BY_HTTP[status] ?? 'FAILED_PRECONDITION', message, false, traceId, follows);
    }
  }
  return reply(500, 'INTERNAL', 'internal error', true, traceId, follows);
}

function reply(status: number, code: StatusName, message: string, internal: boolean, traceId: string | undefined, followsAbort: boolean): ErrorResponse {
  return { status, body: { code, message, traceId }, internal, followsAbort };
}

// What a write after the reply is called on Node (Express) and on Fastify.
const LATE_WRITE = new Set<unknown>(['ERR_HTTP_HEADERS_SENT', 'FST_ERR_REP_ALREADY_SENT']);

/** See {@link ErrorResponse.followsAbort}. */
function followsAbort(error: unknown, ctx: RequestContext | undefined): boolean {
  if (ctx === undefined) return false;
  // Asked without creating the context's signal (an AbortController per answered error).
  const reason = abortReasonOf(ctx);
  if (reason === undefined) return false;
  if (error instanceof CtxkitError || error === reason) return true;
  if (isStatusError(error)) return error.code === Status.CANCELLED || error.code === Status.DEADLINE_EXCEEDED;
  const e = error as { code?: unknown; name?: unknown } | null;
  return typeof e === 'object' && e !== null && (LATE_WRITE.has(e.code) || e.name === 'AbortError');
}
