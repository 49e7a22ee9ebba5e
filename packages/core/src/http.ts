import type { IncomingMessage, ServerResponse } from 'node:http';
import { nodeHeadersGetter } from './carrier.js';
import { compileExtractor, type ExtractOptions } from './extract.js';
import type { OwnedContext, RequestContext } from './context.js';
import { CancelledError, ShutdownError } from './errors.js';
import type { LiveContexts } from './live-contexts.js';

/**
 * Options every HTTP server adapter (Fastify, Express) shares; `O` is what its `onDrop` receives
 * beside each drop (the adapter's request object).
 */
export interface HttpContextOptions<O = IncomingMessage> extends ExtractOptions<O> {
  /**
   * Reply headers that echo the request's ids: `true` (default) for `trace-id` and
   * `request-id`, `false` for none, or a list of those two names. Echoed values are ids ctxkit
   * validated or generated, never raw input.
   */
  readonly echoHeaders?: boolean | readonly ('trace-id' | 'request-id')[] | undefined;
  /**
   * The server's live contexts, for shutdown as cancellation: each request's context is added
   * while the exchange is open, so that `live.drain()` shortens its deadline and then cancels it
   * with `ShutdownError` (503). A request that arrives once the drain began starts cancelled
   * (503 at its first check, and `connection: close`). Default: none.
   */
  readonly live?: LiveContexts | undefined;
}

/**
 * Builds and ties a request's context to a Node HTTP exchange. `requestId` is the framework's
 * own id (validated; replaced when invalid); `capMs` caps this request's budget (a route's
 * handler timeout); `origin` is handed to `onDrop` with each drop (default `req`).
 * @see {@link compileHttpContext}
 */
export type HttpContextStarter<O = IncomingMessage> = (
  req: IncomingMessage,
  res: ServerResponse,
  requestId?: string,
  capMs?: number,
  origin?: O,
) => OwnedContext;

// `Symbol.for`: every loaded copy of core (and so every adapter) sees the one context of an exchange.
const CTX = Symbol.for('ctxkit.http.context');
const ORIGIN = Symbol('ctxkit.origin');

type Tracked = ServerResponse & { [CTX]?: OwnedContext; [ORIGIN]?: unknown };

/** What an adapter itself does at a request's moments; not user options. */
export interface HttpContextHooks<O> {
  /**
   * Called once the client went away before the reply was complete, after the context was
   * cancelled: an adapter's 499 log line. Runs from the same `close` listener that cancels.
   */
  readonly onClientLeft?: ((origin: O, ctx: RequestContext) => void) | undefined;
}

/**
 * Compiles, once, what an HTTP server adapter does at the start of each request: extract the
 * context from the headers (trust `'edge'` unless told otherwise), echo the ids in reply
 * headers, and tie the context to the response: it is cancelled with {@link CancelledError}
 * when the client goes away first, and ended (timer released) when the exchange closes.
 *
 * Disconnect detection follows Node's semantics: the request stream's `close` also fires once
 * a body has been read, so only the response closing before it finished means the client left.
 */
export function compileHttpContext<O = IncomingMessage>(
  options: HttpContextOptions<O> = {},
  hooks: HttpContextHooks<O> = {},
): HttpContextStarter<O> {
  const extract = compileExtractor<O>({ ...options, trust: options.trust ?? 'edge' });
  const echo = echoedIds(options.echoHeaders);
  const echoTrace = echo.includes('trace-id');
  const echoRequest = echo.includes('request-id');
  const onClientLeft = hooks.onClientLeft;
  const live = options.live;
  const onClose =
    onClientLeft === undefined && live === undefined
      ? onResponseClose
      : function onResponseCloseHooked(this: Tracked): void {
          const started = this[CTX];
          const ctx = onResponseClose.call(this);
          if (started !== undefined) live?.delete(started);
          if (ctx !== undefined) onClientLeft?.(this[ORIGIN] as O, ctx);
        };

  return function startHttpContext(req, res, requestId, capMs, origin) {
    // One context per exchange, whatever adapters serve it (the Fastify plugin and the Express
    // middleware both under NestJS, say): the first one started it, the others join it.
    const started = (res as Tracked)[CTX];
    if (started !== undefined) return started;
    const ctx = extract(nodeHeadersGetter, req.headers, {
      remoteAddress: req.socket.remoteAddress,
      requestId,
      maxTimeoutMs: capMs,
      origin: origin ?? (req as O), // `req` itself when the adapter's origin is the request
    });
    if (echoTrace) res.setHeader('trace-id', ctx.traceId);
    if (echoRequest) res.setHeader('request-id', ctx.requestId);
    (res as Tracked)[CTX] = ctx;
    if (live !== undefined) {
      if (live.accepting) live.add(ctx);
      else {
        res.setHeader('connection', 'close');
        ctx.cancel(new ShutdownError());
      }
    }
    if (onClientLeft !== undefined) (res as Tracked)[ORIGIN] = origin ?? req;
    // `on`, not `once`: the handler is idempotent and `once` allocates a wrapper per request.
    res.on('close', onClose);
    return ctx;
  };
}

/**
 * The context an HTTP adapter already started for this exchange, or `undefined`. An adapter that
 * finds one joins it (the deadline's 504 and the disconnect are then the first adapter's) rather
 * than starting a second context for the same request.
 */
export function httpContextOf(res: ServerResponse): OwnedContext | undefined {
  return (res as Tracked)[CTX];
}

/** Ends the context once the exchange closes; returns it when the client had left (cancelled). */
function onResponseClose(this: Tracked): OwnedContext | undefined {
  const ctx = this[CTX];
  if (ctx === undefined) return undefined;
  this[CTX] = undefined;
  const left = clientLeft(this);
  if (left) ctx.cancel(new CancelledError('client disconnected'));
  ctx.end();
  return left ? ctx : undefined;
}

/**
 * Whether a response that emitted `close` lost its client before the reply was complete.
 * `writableEnded`, not `writableFinished`: a reply the app ended is answered even when the
 * bytes were never flushed (`fastify.inject()` has no socket to flush to), and cancelling then
 * would abort work the app kept running after its reply. A reply written after the client left
 * mid-body (an error handler answering the parser's "request aborted") ends on a dead socket:
 * an unfinished request on a destroyed socket is a disconnect too.
 */
function clientLeft(res: ServerResponse): boolean {
  if (!res.writableEnded) return true;
  const req = res.req as IncomingMessage | undefined;
  return req !== undefined && !req.complete && req.socket?.destroyed === true;
}

/**
 * The reply headers an `echoHeaders` option asks for. For adapters that write them through their
 * framework instead (Fastify: `reply.header`, because a header set on the raw response makes
 * Fastify's `writeHead` merge every header through `setHeader`, ~0.6 µs per request).
 */
export function echoedIds(option: HttpContextOptions['echoHeaders']): readonly ('trace-id' | 'request-id')[] {
  if (option === undefined || option === true) return ['trace-id', 'request-id'];
  if (option === false) return [];
  return option.filter((name) => name === 'trace-id' || name === 'request-id');
}
