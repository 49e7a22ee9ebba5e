import type { LogFieldNames } from '@ctxkit/core';
import type { HttpContextOptions } from '@ctxkit/core/adapter';
import type { FastifyRequest } from 'fastify';

/**
 * Options of the {@link ctxkit} plugin, resolved once when it is registered.
 *
 * Extends core's `HttpContextOptions`: `trust` (default `'edge'`: only the trace id is read
 * from clients), `defaultTimeoutMs`, `maxTimeoutMs` (both milliseconds), `timeoutHeader`
 * (default `request-timeout-ms`), `echoHeaders` (default: `trace-id` and `request-id`) and
 * `onDrop(drop, request)`: every dropped incoming value with its reason and the ids of the
 * request's context, and the Fastify request (its `ctx` is not set yet: drops are found while it
 * is built), e.g. `onDrop: (drop, request) => request.log.warn({ drop }, 'refused')`. Default:
 * core's counter (`droppedValues()`), which warns once per key and reason.
 */
export interface CtxkitFastifyOptions extends HttpContextOptions<FastifyRequest> {
  /**
   * Returns the authenticated user's id, or `undefined` when there is none. Runs after every
   * `preHandler` hook of every route registered after the plugin, right before its handler (for
   * an async handler inside ctxkit's handler wrapper, else as the route's last `preHandler`
   * hook), so every authentication hook (`onRequest`, `preValidation`, `preHandler`, app or route
   * level) has run before it. The id replaces any `user-id` a trusted peer sent; a value that
   * cannot go on the wire fails the request with `InvalidMetadataError` (HTTP 500).
   *
   * @example
   * resolveUser: (request) => request.user?.sub // after @fastify/jwt's jwtVerify()
   */
  readonly resolveUser?: ((request: FastifyRequest) => string | undefined | Promise<string | undefined>) | undefined;
  /**
   * Field names of the ids on `request.log` lines. Default `trace-id`, `request-id`, `user-id`;
   * e.g. `{ traceId: 'trace_id' }` to match OpenTelemetry's pino instrumentation, so that no
   * line carries one id under two names.
   */
  readonly logFieldNames?: LogFieldNames | undefined;
}
