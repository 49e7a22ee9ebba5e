/**
 * What every outgoing HTTP call does with the current context, shared by the `fetch` wrapper
 * and the undici interceptor: which headers it writes, its deadline, and the one object per
 * call that follows the context's and the caller's signals until the call is released.
 */
import type { CarrierSetter, HeaderSink } from './carrier.js';
import { injectContext } from './inject.js';
import type { RequestContext } from './context.js';
import { checkTimeout, earliestDeadline, formatHttpTimeout, MAX_TIMER_MS, parseHttpTimeout, TIMEOUT_HEADER } from './deadline.js';
import { DeadlineExceededError, printable } from './errors.js';
import { startCallTrace } from './call-trace.js';
import type { MissingContextMode } from './lost-context.js';
import type { CallSpan, OutgoingCallInfo, TraceSink } from './storage.js';
import { type ContextKey, normalizeKey } from './schema.js';

/** Options shared by {@link createFetch} and {@link ctxkitInterceptor}, resolved once. */
export interface OutgoingOptions {
  /**
   * The propagated keys that may leave, as wire names or declared keys; default: all of them.
   * Give external targets a short list (`['trace-id']`) so that user ids and internal keys do
   * not leak to third parties; `[]` sends none.
   * @throws {@link InvalidMetadataError} at set-up for a name that cannot be a key.
   */
  readonly allowKeys?: readonly (string | ContextKey)[] | undefined;
  /**
   * A timeout for every call, in milliseconds. The call's deadline is the earlier of this and
   * the context's; reaching it aborts the call with {@link DeadlineExceededError}.
   */
  readonly timeoutMs?: number | undefined;
  /** Header carrying the remaining budget (integer ms); `false` sends none. Default `request-timeout-ms`. */
  readonly timeoutHeader?: string | false | undefined;
  /** What a call made outside any context does: `'throw'`, `'warn'` (default, once per call site) or `'ignore'`. */
  readonly missingContext?: MissingContextMode | undefined;
}

/** {@link OutgoingOptions} checked and turned into what a call reads. @internal */
export interface Outgoing {
  readonly allow: ((key: string) => boolean) | undefined;
  readonly timeoutMs: number | undefined;
  readonly timeoutHeader: string | false;
  readonly missingContext: MissingContextMode;
}

/** Checks options once, at set-up. @internal */
export function compileOutgoing(options: OutgoingOptions): Outgoing {
  let allow: ((key: string) => boolean) | undefined;
  if (options.allowKeys !== undefined) {
    const allowed = new Set(options.allowKeys.map((k) => (typeof k === 'string' ? normalizeKey(k) : k.name)));
    allow = (key) => allowed.has(key);
  }
  const header = options.timeoutHeader;
  return {
    allow,
    timeoutMs: options.timeoutMs === undefined ? undefined : checkTimeout(options.timeoutMs, 'timeoutMs'),
    timeoutHeader: header === undefined ? TIMEOUT_HEADER : header === false ? false : headerName(header),
    missingContext: options.missingContext ?? 'warn',
  };
}

// RFC 9110 §5.1: a field name is a token.
const TOKEN = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;

function headerName(name: string): string {
  const lower = name.toLowerCase();
  if (!TOKEN.test(lower)) throw new RangeError(`ctxkit: timeoutHeader "${printable(name)}" is not a valid header name`);
  return lower;
}

/** Writes a key unless the caller already set it: the caller's own header wins. */
const setIfAbsent: CarrierSetter<HeaderSink> = {
  set: (headers, key, value) => {
    if (!headers.has(key)) headers.set(key, value);
  },
};

/**
 * Writes the context's propagated keys that the caller did not set, then the remaining budget.
 * The caller's own timeout header stays when it asks for less time; it never asks for more.
 * @internal
 */
export function writeHeaders(
  out: Outgoing,
  ctx: RequestContext | undefined,
  deadline: number | undefined,
  now: number,
  headers: HeaderSink,
): void {
  if (ctx !== undefined) injectContext(ctx, setIfAbsent, headers, out.allow);
  const name = out.timeoutHeader;
  if (deadline === undefined || name === false) return;
  const budget = formatHttpTimeout(deadline - now);
  const own = headers.get(name);
  const ownMs = own == null ? undefined : parseHttpTimeout(own);
  if (ownMs === undefined || ownMs > Number(budget)) headers.set(name, budget);
}

/** The call's deadline: the context's, or `timeoutMs` from `now` when that is earlier. @internal */
export function callDeadline(ctx: RequestContext | undefined, timeoutMs: number | undefined, now: number): number | undefined {
  return earliestDeadline(ctx?.deadline, timeoutMs === undefined ? undefined : now + timeoutMs);
}

/**
 * One outgoing call: it follows the context's signal and the caller's, and owns at most one
 * timer (its deadline). Whatever ends it first aborts it with that reason; {@link _release}
 * undoes the timer and both links, once, when the call is over.
 * @internal
 */
export abstract class OutgoingCall {
  _timer: NodeJS.Timeout | undefined = undefined;
  _ctxLink: Fanout | undefined = undefined;
  _callerLink: Fanout | undefined = undefined;
  _released = false;
  /** The tracer's span of this call (bridge on), ended on release with what the call ended with. */
  _span: CallSpan | undefined = undefined;
  _status: number | undefined = undefined;
  _error: unknown = undefined;

  /** Starts the call's span and writes its trace context when a tracer is on (see startCallTrace). */
  _trace(ctx: RequestContext | undefined, out: Outgoing, info: OutgoingCallInfo, sink: TraceSink): void {
    this._span = startCallTrace(ctx, info, sink, out.allow);
  }

  /** Stops the transport with `reason`. */
  abstract _cancel(reason: unknown): void;

  /**
   * Starts following the signals and arms the deadline timer.
   * @returns the reason the call must fail without being sent, or `undefined` to send it.
   */
  _start(ctxSignal: AbortSignal | undefined, callerSignal: AbortSignal | null | undefined, deadline: number | undefined, now: number): unknown {
    if (ctxSignal?.aborted) return ctxSignal.reason;
    if (callerSignal?.aborted) return callerSignal.reason;
    if (deadline !== undefined) {
      const delay = deadline - now;
      // Under 1 ms the header would say 0: the callee could not do anything with it.
      if (delay < 1) return new DeadlineExceededError();
      // A ref'd timer: the call's socket keeps the process alive anyway, and a leaked one
      // would show. Longer delays than MAX_TIMER_MS would fire at once; they are not timed.
      if (delay <= MAX_TIMER_MS) this._timer = setTimeout(onCallDeadline, delay, this);
    }
    if (ctxSignal !== undefined) this._ctxLink = follow(ctxSignal, this);
    if (callerSignal != null) this._callerLink = follow(callerSignal, this);
    return undefined;
  }

  _abort(reason: unknown): void {
    if (this._released) return;
    this._error = reason;
    this._release();
    this._cancel(reason);
  }

  _release(): void {
    if (this._released) return;
    this._released = true;
    if (this._timer !== undefined) {
      clearTimeout(this._timer);
      this._timer = undefined;
    }
    if (this._ctxLink !== undefined) this._ctxLink.drop(this);
    if (this._callerLink !== undefined) this._callerLink.drop(this);
    this._ctxLink = this._callerLink = undefined;
    if (this._span !== undefined) {
      this._span.end(this._status, this._error);
      this._span = undefined;
    }
  }
}

function onCallDeadline(call: OutgoingCall): void {
  call._timer = undefined;
  call._abort(new DeadlineExceededError());
}

/**
 * One 'abort' listener per signal, shared by every call in flight under it, removed with the last
 * call. A listener per call would make n concurrent calls under one context cost O(n) per add and
 * per remove (Node's EventTarget walks its listener list to refuse duplicates), and the listener
 * count of a context would grow with its fan-out.
 */
class Fanout {
  readonly calls = new Set<OutgoingCall>();
  constructor(readonly signal: AbortSignal) {}

  handleEvent(): void {
    this.unlisten();
    const reason = this.signal.reason;
    for (const call of this.calls) call._abort(reason);
    this.calls.clear();
  }

  drop(call: OutgoingCall): void {
    const calls = this.calls;
    if (calls.delete(call) && calls.size === 0) this.unlisten();
  }

  unlisten(): void {
    if (fanouts.get(this.signal) !== this) return;
    fanouts.delete(this.signal);
    this.signal.removeEventListener('abort', this);
  }
}

const fanouts = new WeakMap<AbortSignal, Fanout>();

function follow(signal: AbortSignal, call: OutgoingCall): Fanout {
  let fanout = fanouts.get(signal);
  if (fanout === undefined) {
    fanout = new Fanout(signal);
    fanouts.set(signal, fanout);
    signal.addEventListener('abort', fanout);
  }
  fanout.calls.add(call);
  return fanout;
}
