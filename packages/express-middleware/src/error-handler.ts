import { createLogFields, type LogFieldNames, type RequestContext } from '@ctxkit/core';
import { errorResponse } from '@ctxkit/core/adapter';
import type { ErrorRequestHandler } from 'express';
import { isBound } from './bind-emitter.js';
import { sendError } from './send-error.js';

/**
 * What {@link ctxkitErrorHandler} logs with an unexpected error: the error, the method and URL,
 * and the request's ids (under `trace-id`, `request-id`, `user-id`, or the names of
 * {@link ErrorHandlerOptions.logFieldNames}).
 */
export interface ErrorLogFields {
  /** The error, in full (message, stack, cause): for the log only, never for the client. */
  readonly err: unknown;
  readonly 'trace-id'?: string | undefined;
  /** A legacy trace id received beside the W3C one, when there was one. */
  readonly 'legacy-trace-id'?: string | undefined;
  readonly 'request-id'?: string | undefined;
  readonly 'user-id'?: string | undefined;
  readonly method: string;
  /** `req.originalUrl`. */
  readonly url: string;
  /** The ids under renamed fields, with `logFieldNames`. */
  readonly [field: string]: unknown;
}

/** A logger {@link ctxkitErrorHandler} can write to: pino, bunyan-style loggers and `console` fit. */
export interface ErrorLogger {
  error(fields: ErrorLogFields, message: string): void;
}

/** Options of {@link ctxkitErrorHandler}. */
export interface ErrorHandlerOptions {
  /** Receives unexpected errors (500s) with the request's ids. Default `console`; `false` logs nothing. */
  readonly logger?: ErrorLogger | false | undefined;
  /**
   * Field names of the ids in those lines. Default `trace-id`, `request-id`, `user-id`; e.g.
   * `{ traceId: 'trace_id' }` to match OpenTelemetry's pino instrumentation.
   */
  readonly logFieldNames?: LogFieldNames | undefined;
}

const UNEXPECTED = 'unexpected error while serving a request';

/**
 * Creates the Express error middleware that answers errors as ctxkit does everywhere: the
 * HTTP status of a gRPC status error or ctxkit error (`DeadlineExceededError` → 504,
 * `CancelledError` → 499, `NOT_FOUND` → 404…), a framework 4xx (body-parser's 400, 413, 415)
 * kept, anything else 500; and a JSON body `{ code, message, traceId }` that never carries
 * internals (a 500 says `internal error`). Unexpected errors are logged in full with the
 * request's ids.
 *
 * When the response has started or the client has left, nothing can be answered: an
 * unfinished response goes to Express's default handler, which closes the connection; after a
 * complete one the error is only logged, unless it is the expected consequence of the
 * context's abort (a handler writing after the 504, a call aborted once the client left).
 *
 * @example
 * app.use(ctxkit());
 * app.use(routes);
 * app.use(ctxkitErrorHandler({ logger: pinoLogger })); // last
 */
export function ctxkitErrorHandler(options: ErrorHandlerOptions = {}): ErrorRequestHandler {
  const logger = options.logger === undefined ? console : options.logger;
  const ids = createLogFields(options.logFieldNames);

  // Four parameters: that is how Express recognises error middleware.
  return function ctxkitErrorHandler(err, req, res, next) {
    const ctx: RequestContext | undefined = isBound(req) ? req.ctx : undefined;
    // A client that left gets no answer: written to its dead socket, it would even count as a
    // finished response (Node 22), and the context would not be cancelled.
    const gone = res.destroyed || req.socket.destroyed;
    if (res.headersSent || gone) {
      if (!res.writableEnded && !gone) {
        next(err);
        return;
      }
      if (logger === false) return;
      const answer = errorResponse(err, ctx);
      if (answer.internal && !answer.followsAbort) {
        logger.error(logFields(err, ctx, req.method, req.originalUrl, ids), `${UNEXPECTED}, after its response`);
      }
      return;
    }
    const internal = sendError(res, err, ctx);
    if (internal && logger !== false) logger.error(logFields(err, ctx, req.method, req.originalUrl, ids), UNEXPECTED);
  };
}

function logFields(
  err: unknown,
  ctx: RequestContext | undefined,
  method: string,
  url: string,
  ids: (ctx: RequestContext) => Record<string, string>,
): ErrorLogFields {
  // Outside a context (ctxkit not mounted before) there are no ids to log.
  return ctx === undefined ? { err, method, url } : { err, ...ids(ctx), method, url };
}
