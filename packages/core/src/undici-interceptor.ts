/**
 * The undici dispatcher interceptor: the same headers, deadline and cancellation as the `fetch`
 * wrapper, for `undici.request`, `undici.fetch` and anything else dispatching through an agent.
 * undici's types are described structurally so that core needs no undici at run time.
 */
import { contextEnded, reportEndedContext, reportMissingContext } from './lost-context.js';
import type { HeaderSink } from './carrier.js';
import { compileOutgoing, type OutgoingOptions, writeHeaders } from './outgoing.js';
import { OutgoingCall } from './outgoing-call.js';
import { als } from './storage.js';

/** The part of undici's `DispatchController` the interceptor uses. */
export interface DispatchControllerLike {
  abort(reason: Error): void;
}

/** undici's (v7+) `DispatchHandler`, structurally. */
export interface DispatchHandlerLike {
  onRequestStart?(controller: DispatchControllerLike, context: any): void;
  onRequestUpgrade?(controller: DispatchControllerLike, statusCode: number, headers: any, socket: any): void;
  onResponseStart?(controller: DispatchControllerLike, statusCode: number, headers: any, statusMessage?: string): void;
  onResponseData?(controller: DispatchControllerLike, chunk: any): void;
  onResponseEnd?(controller: DispatchControllerLike, trailers: any): void;
  onResponseError?(controller: DispatchControllerLike | null, error: Error): void;
  onResponseStarted?(): void;
  onBodySent?(chunk: any): void;
  onRequestSent?(): void;
}

/** undici's `Dispatcher['dispatch']`, structurally. */
export type DispatchLike = (options: any, handler: DispatchHandlerLike) => boolean;

/** A function to pass to undici's `dispatcher.compose()`. */
export type DispatchInterceptorLike = (dispatch: DispatchLike) => DispatchLike;

/**
 * Creates an undici interceptor that carries the current context on every request dispatched
 * through it: propagated keys as headers (never replacing one set by the caller), the remaining
 * budget in `request-timeout-ms`, and an abort with `DeadlineExceededError` or `CancelledError`
 * when the deadline passes or the context is cancelled — also while the body streams. With no
 * time left the request fails at once and is not sent. The caller's `signal`, `headersTimeout`
 * and `bodyTimeout` keep working: undici applies them. A request outside any context, or under
 * one that has already ended (a callback kept from a finished request), is reported as by
 * `createFetch` (`missingContext`); one under an ended context still goes out with that
 * context's ids.
 *
 * @throws RangeError for an invalid `timeoutMs` or `timeoutHeader`; `InvalidMetadataError` for
 * an `allowKeys` name that cannot be a key.
 * @example
 * import { Agent, request } from 'undici';
 * const agent = new Agent().compose(undiciInterceptor());
 * const { body } = await request('http://stock.internal/items', { dispatcher: agent });
 */
export function undiciInterceptor(options: OutgoingOptions = {}): DispatchInterceptorLike {
  const out = compileOutgoing(options);

  return function withContext(dispatch) {
    return function ctxkitDispatch(opts, handler) {
      const ctx = als.getStore();
      if (ctx === undefined) {
        try {
          reportMissingContext(out.missingContext, 'an undici request');
        } catch (error) {
          return fail(handler, error as Error);
        }
        if (out.timeoutMs === undefined) return dispatch(opts, handler);
      } else if (contextEnded(ctx)) {
        try {
          reportEndedContext(out.missingContext, 'an undici request', ctx);
        } catch (error) {
          return fail(handler, error as Error);
        }
      }
      const now = Date.now();
      const call = new DispatchCall(handler);
      const deadline = call.setDeadline(ctx, undefined, out.timeoutMs, now);
      const headers = new RecordHeaders(opts.headers);
      writeHeaders(out, ctx, deadline, now, headers);
      const early = call.start(ctx, undefined, now);
      if (early !== undefined) return fail(handler, early as Error);
      const method = typeof opts.method === 'string' ? opts.method.toUpperCase() : 'GET';
      call.trace(ctx, { transport: 'http', method, target: `${String(opts.origin ?? '')}${String(opts.path ?? '')}` }, headers, out.allow);
      try {
        return dispatch({ ...opts, headers: headers.record }, call);
      } catch (error) {
        call.release();
        throw error;
      }
    };
  };
}

/** Fails a request before it was dispatched, as undici's own dispatchers do. */
function fail(handler: DispatchHandlerLike, error: Error): boolean {
  if (typeof handler.onResponseError !== 'function') throw error;
  handler.onResponseError(null, error);
  return true;
}

/**
 * The handler the interceptor puts before the caller's: it tells the call when the response
 * ends (body included) and cancels through undici's controller. Aborted while still queued
 * (undici only hands the controller over once a connection is assigned), it fails the caller
 * at once and aborts the request as soon as it starts.
 */
class DispatchCall extends OutgoingCall implements DispatchHandlerLike {
  _controller: DispatchControllerLike | undefined = undefined;
  /** Set when the caller was already failed before the request started. */
  _failedWith: Error | undefined = undefined;

  constructor(readonly _handler: DispatchHandlerLike) {
    super();
  }

  cancel(reason: unknown): void {
    const controller = this._controller;
    if (controller !== undefined) {
      controller.abort(reason as Error);
    } else {
      this._failedWith = reason as Error;
      this._handler.onResponseError?.(null, reason as Error);
    }
  }

  onRequestStart(controller: DispatchControllerLike, context: any): void {
    if (this._failedWith !== undefined) {
      controller.abort(this._failedWith);
      return;
    }
    this._controller = controller;
    this._handler.onRequestStart?.(controller, context);
  }

  onRequestUpgrade(controller: DispatchControllerLike, statusCode: number, headers: any, socket: any): void {
    this.release(); // the socket is the caller's from here on
    if (this._failedWith === undefined) this._handler.onRequestUpgrade?.(controller, statusCode, headers, socket);
  }

  onResponseStart(controller: DispatchControllerLike, statusCode: number, headers: any, statusMessage?: string): void {
    this.status = statusCode;
    if (this._failedWith === undefined) this._handler.onResponseStart?.(controller, statusCode, headers, statusMessage);
  }

  onResponseData(controller: DispatchControllerLike, chunk: any): void {
    if (this._failedWith === undefined) this._handler.onResponseData?.(controller, chunk);
  }

  onResponseEnd(controller: DispatchControllerLike, trailers: any): void {
    this.release();
    if (this._failedWith === undefined) this._handler.onResponseEnd?.(controller, trailers);
  }

  onResponseError(controller: DispatchControllerLike | null, error: Error): void {
    this.error ??= error;
    this.release();
    if (this._failedWith === undefined) this._handler.onResponseError?.(controller, error);
  }

  onResponseStarted(): void {
    this._handler.onResponseStarted?.();
  }

  onBodySent(chunk: any): void {
    this._handler.onBodySent?.(chunk);
  }

  onRequestSent(): void {
    this._handler.onRequestSent?.();
  }
}

/**
 * undici's request headers (a record, a flat `[name, value, …]` array or an iterable of pairs)
 * copied into one record with lowercase names, so a caller's header is found whatever its case.
 */
class RecordHeaders implements HeaderSink {
  readonly record: Record<string, string | string[]> = Object.create(null);

  constructor(headers: unknown) {
    if (headers == null || typeof headers !== 'object') return;
    if (Array.isArray(headers) && (headers.length === 0 || !Array.isArray(headers[0]))) {
      for (let i = 0; i + 1 < headers.length; i += 2) this.add(headers[i], headers[i + 1]);
    } else if (Symbol.iterator in headers) {
      for (const pair of headers as Iterable<[unknown, unknown]>) this.add(pair[0], pair[1]);
    } else {
      const record = headers as Record<string, unknown>;
      for (const name of Object.keys(record)) this.add(name, record[name]);
    }
  }

  add(name: unknown, value: unknown): void {
    if (value === undefined || value === null) return;
    const key = String(name).toLowerCase();
    const values = Array.isArray(value) ? value.map(String) : String(value);
    const seen = this.record[key];
    this.record[key] = seen === undefined ? values : ([] as string[]).concat(seen, values);
  }

  has(name: string): boolean {
    return name in this.record;
  }

  get(name: string): string | undefined {
    const value = this.record[name];
    return typeof value === 'string' ? value : undefined;
  }

  set(name: string, value: string): void {
    this.record[name] = value;
  }
}
