import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { nodeHeadersGetter } from './carrier.js';
import { compileExtractor, type ExtractOptions } from './extract.js';
import { onContextAbort, type OwnedContext, type RequestContext } from './context.js';
import { CancelledError, ShutdownError } from './errors.js';
import type { LiveContexts } from './live-contexts.js';
import { type LogFieldNames, resolveLogFieldNames } from './log.js';
import { resolveUser, type UserResolver } from './resolve-user.js';

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
 * What an HTTP server adapter holds, compiled once by {@link compileHttpContext}: the start of
 * each request's context, and the pieces of the request's life an adapter wires to its framework.
 */
export interface HttpContextStarter<O = IncomingMessage> {
  /**
   * Builds and ties a request's context to a Node HTTP exchange. `requestId` is the framework's
   * own id (validated; replaced when invalid); `capMs` caps this request's budget (a route's
   * handler timeout); `origin` is handed to `onDrop` with each drop (default `req`).
   */
  start(req: IncomingMessage, res: ServerResponse, requestId?: string, capMs?: number, origin?: O): OwnedContext;
  /**
   * The context an HTTP adapter (of any loaded copy of core) already started for this exchange,
   * or `undefined`. An adapter that finds one joins it (the deadline's 504 and the disconnect are
   * then the first adapter's) rather than starting a second context for the same request.
   */
  contextOf(res: ServerResponse): OwnedContext | undefined;
  /**
   * The reply headers `echoHeaders` asks for, for an adapter that writes them through its
   * framework ({@link HttpContextHooks.echoesIds}).
   */
  readonly echoedIds: readonly ('trace-id' | 'request-id')[];
  /**
   * The log field names of {@link HttpContextHooks.logFieldNames}, defaults filled in: what an
   * adapter binds its request logger's ids under.
   */
  readonly logFieldNames: { readonly traceId: string; readonly legacyTraceId: string; readonly requestId: string; readonly userId: string };
  /**
   * Calls `handler(arg, reason)` once, in the context, when `ctx` aborts (deadline or cancel), and
   * times its deadline meanwhile: what the edge's 504 needs, without an `AbortController`, an
   * event listener or an object per request. One handler per context (the adapter that started
   * it). Released with the context (`end()`): a context that ended without aborting never calls it.
   * @returns the reason when `ctx` is aborted already (then `handler` is not called).
   */
  onAbort<A>(ctx: RequestContext, handler: (arg: A, reason: Error) => void, arg: A): Error | undefined;
  /**
   * Runs `resolve(origin)` and assigns the user id it gives to `ctx`, then calls
   * `done(undefined, userId)`; a throw, a rejection, or an id that cannot go on the wire
   * (`InvalidMetadataError`) calls `done(error)` instead. A synchronous resolver costs no
   * promise; an asynchronous one resumes in the request's context.
   */
  resolveUser(ctx: OwnedContext, resolve: UserResolver<O>, origin: O, done: (error: unknown, userId?: string) => void): void;
}

// `Symbol.for`: every loaded copy of core (and so every adapter) sees the one context of an exchange.
const CTX = Symbol.for('ctxkit.http.context');
const ORIGIN = Symbol('ctxkit.origin');

type Tracked = ServerResponse & { [CTX]?: OwnedContext; [ORIGIN]?: unknown };

/**
 * The emitter's own `on`, not the instance's: OpenTelemetry's http instrumentation binds each
 * response (`context.bind(res)`), which replaces `res.on` with one that wraps every listener in
 * a closure entering its context on every emit. The close listener needs no tracer context
 * (aborts are told in the ctxkit context, by core): measured ~1 µs a request with the SDK on.
 */
const addListener = EventEmitter.prototype.on;

/** What an adapter itself does at a request's moments; not user options. */
export interface HttpContextHooks<O> {
  /**
   * Called once the client went away before the reply was complete, after the context was
   * cancelled: an adapter's 499 log line. Runs from the same `close` listener that cancels.
   */
  readonly onClientLeft?: ((origin: O, ctx: RequestContext) => void) | undefined;
  /**
   * The adapter writes the echoed ids itself, through its framework, from
   * {@link HttpContextStarter.echoedIds}: none are set on the raw response. Fastify does, because
   * a header set on the raw response makes its `writeHead` merge every header through
   * `setHeader` (~0.6 µs per request).
   */
  readonly echoesIds?: boolean | undefined;
  /** The adapter's log field names (see {@link HttpContextStarter.logFieldNames}). @throws TypeError for an empty name. */
  readonly logFieldNames?: LogFieldNames | undefined;
}

/**
 * Compiles, once, what an HTTP server adapter does at the start of each request: extract the
 * context from the headers (trust `'edge'` unless told otherwise), echo the ids in reply
 * headers, and tie the context to the response: it is cancelled with {@link CancelledError}
 * when the client goes away first, and ended (timer released) when the exchange closes.
 *
 * Disconnect detection follows Node's semantics: the request stream's `close` also fires once
 * a body has been read, so only the response closing before it finished means the client left.
 *
 * @throws RangeError for a negative or non-finite timeout option; TypeError for an empty log field name.
 */
export function compileHttpContext<O = IncomingMessage>(
  options: HttpContextOptions<O> = {},
  hooks: HttpContextHooks<O> = {},
): HttpContextStarter<O> {
  const extract = compileExtractor<O>({ ...options, trust: options.trust ?? 'edge' });
  const echo = echoedIds(options.echoHeaders);
  const logFieldNames = resolveLogFieldNames(hooks.logFieldNames);
  const echoTrace = hooks.echoesIds !== true && echo.includes('trace-id');
  const echoRequest = hooks.echoesIds !== true && echo.includes('request-id');
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

  function startHttpContext(req: IncomingMessage, res: ServerResponse, requestId?: string, capMs?: number, origin?: O): OwnedContext {
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
    addListener.call(res, 'close', onClose);
    return ctx;
  }

  return { start: startHttpContext, contextOf: httpContextOf, echoedIds: echo, logFieldNames, onAbort: onContextAbort, resolveUser };
}

/** See {@link HttpContextStarter.contextOf}. */
function httpContextOf(res: ServerResponse): OwnedContext | undefined {
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

/** The reply headers an `echoHeaders` option asks for. */
function echoedIds(option: HttpContextOptions['echoHeaders']): readonly ('trace-id' | 'request-id')[] {
  if (option === undefined || option === true) return ['trace-id', 'request-id'];
  if (option === false) return [];
  return option.filter((name) => name === 'trace-id' || name === 'request-id');
}
