import type { RequestContext } from '@ctxkit/core';
import type { HttpContextOptions } from '@ctxkit/core/adapter';
import type { Request } from 'express';

/**
 * Options of the {@link ctxkit} middleware, resolved once when it is created.
 *
 * Extends core's `HttpContextOptions`: `trust` (default `'edge'`, see below),
 * `defaultTimeoutMs` and `maxTimeoutMs` (milliseconds), `timeoutHeader` (default
 * `request-timeout-ms`), `echoHeaders` (default: `trace-id` and `request-id`), `readBaggage` and
 * `onDrop(drop, req)`: every dropped incoming value with its reason and the ids of the request's
 * context, and the request (its `ctx` is not set yet: drops are found while it is built).
 * Default: core's counter (`droppedValues()`), which warns once per key and reason.
 */
export interface CtxkitExpressOptions extends HttpContextOptions<Request> {
  /**
   * Which incoming keys to honour besides the trace id. Default `'edge'`, the rule of every HTTP
   * adapter, because a default copied into a public app must be safe: a client's `user-id`,
   * `request-id` and declared keys are refused (the user comes from
   * {@link CtxkitExpressOptions.resolveUser}). An internal service that trusts its peers says
   * `'internal'`, or passes a rule naming the trusted proxies and keys.
   */
  readonly trust?: HttpContextOptions<Request>['trust'];
  /**
   * Returns the authenticated user's id, or `undefined` when there is none. Runs inside the
   * context, before the middleware after ctxkit; so mount authentication (that sets
   * `req.user`, say) before ctxkit, or call `resolveUser`'s logic from it. The id replaces any
   * `user-id` a trusted peer sent; a value that cannot go on the wire fails the request with
   * `InvalidMetadataError` (HTTP 500 through {@link ctxkitErrorHandler}).
   *
   * @example
   * resolveUser: (req) => req.auth?.sub // after express-jwt
   */
  readonly resolveUser?: ((req: Request) => string | undefined | PromiseLike<string | undefined>) | undefined;
}

declare global {
  // Express's own types are augmented through this global namespace (Express 4 and 5 alike).
  namespace Express {
    interface Request {
      /**
       * The ctxkit context of this request, set by the {@link ctxkit} middleware: the same
       * object `currentContext()` returns while the request is served.
       */
      ctx: RequestContext;
    }
  }
}
