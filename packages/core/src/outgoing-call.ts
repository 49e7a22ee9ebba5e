/**
 * The lifecycle of one outgoing call under a context, the same for every transport (gRPC
 * client, fetch, undici): its deadline is the earliest of the context's, the caller's and a
 * timeout, capped by what the transport can carry; it fails without being sent when no time is
 * left; it is aborted when the context or the caller's signal aborts, through one shared listener
 * per signal; and it lets go of everything once the call is over.
 */
import { Context, type ContextWatcher, type RequestContext } from './context.js';
import { MAX_GRPC_TIMEOUT_MS, MAX_TIMER_MS } from './deadline.js';
import { CtxkitError, DeadlineExceededError } from './errors.js';
import { startCallTrace } from './call-trace.js';
import { Status, type StatusCode } from './status.js';
import type { CallSpan, OutgoingCallInfo, TraceSink } from './storage.js';

/** The earliest of the context's deadline, the caller's and `timeoutMs` from `now`, within `capMs` from now. */
function earliestDeadline(
  ctx: RequestContext | undefined,
  callerDeadline: number | undefined,
  timeoutMs: number | undefined,
  now: number,
  capMs: number | undefined,
): number | undefined {
  let deadline = ctx?.deadline;
  if (callerDeadline !== undefined && (deadline === undefined || callerDeadline < deadline)) deadline = callerDeadline;
  if (timeoutMs !== undefined && (deadline === undefined || now + timeoutMs < deadline)) deadline = now + timeoutMs;
  if (capMs !== undefined && deadline !== undefined && deadline - now > capMs) deadline = now + capMs;
  return deadline;
}

const CANCELLED_BY_CONTEXT = { code: Status.CANCELLED, details: 'cancelled by the request context' } as const;

/**
 * The transport a call goes over: `'http'` (fetch, undici: the call times its own deadline) or
 * `'grpc'` (grpc-js times the call; a deadline never further than its servers can read).
 */
export type CallTransport = 'http' | 'grpc';

/**
 * A transport may report its deadline this long before the context's equal deadline fires: both
 * timers are millisecond-granular and armed at different moments, so either may fire first.
 */
const DEADLINE_SLACK_MS = 5;

/**
 * One outgoing call under a context. A transport subclasses it with {@link cancel} (how to stop
 * the call), asks it for the call's deadline ({@link setDeadline}) before writing its headers,
 * calls {@link start} before sending, and {@link release} once the call is over (the response
 * ended, failed or was cancelled); {@link abortStatus} is the gRPC status an abort means.
 *
 * It arms a timer only for a deadline earlier than the context's (the caller's own timeout): at
 * the context's deadline the context itself aborts, and the call with it, so the context always
 * reports DEADLINE_EXCEEDED first and a caller never sees a child's deadline error while its
 * own context still looks alive.
 * @experimental
 */
export abstract class OutgoingCall implements ContextWatcher {
  #deadline: number | undefined = undefined;
  #timer: NodeJS.Timeout | undefined = undefined;
  /** The context this call follows directly (a ctxkit context: no signal, no listener). */
  #watched: Context | undefined = undefined;
  #ctxLink: Fanout | undefined = undefined;
  #callerLink: Fanout | undefined = undefined;
  /** The context, when the call's deadline is the context's. */
  #deadlineOf: RequestContext | undefined = undefined;
  #released = false;
  /** The tracer's span of this call (bridge on), ended on release with what the call ended with. */
  #span: CallSpan | undefined = undefined;
  /** The HTTP status or gRPC code the call ended with, for its span. */
  status: number | undefined = undefined;
  /** What the call failed with, for its span. */
  error: unknown = undefined;

  /** `transport`: how the call's deadline is bounded and timed (see {@link CallTransport}). */
  constructor(readonly transport: CallTransport = 'http') {}

  /**
   * Sets the call's deadline, epoch ms, and returns it: the earliest of the context's, the
   * caller's own (`callerDeadline`, epoch ms) and `timeoutMs` from `now`; over gRPC, never further
   * than its servers can read. `undefined`: none of them is set.
   */
  setDeadline(ctx: RequestContext | undefined, callerDeadline: number | undefined, timeoutMs: number | undefined, now: number): number | undefined {
    const capMs = this.transport === 'grpc' ? MAX_GRPC_TIMEOUT_MS : undefined;
    this.#deadline = earliestDeadline(ctx, callerDeadline, timeoutMs, now, capMs);
    return this.#deadline;
  }

  /** The call's deadline, epoch ms, as {@link setDeadline} set it; `undefined` for none. */
  get deadline(): number | undefined {
    return this.#deadline;
  }

  /**
   * The gRPC status an abort reason means: a ctxkit error carries its own (deadline → 4
   * DEADLINE_EXCEEDED, cancel → 1 CANCELLED); any other reason is CANCELLED.
   */
  abortStatus(reason: unknown): { readonly code: StatusCode; readonly details: string } {
    if (reason instanceof CtxkitError) return { code: reason.grpcCode, details: reason.message };
    return CANCELLED_BY_CONTEXT;
  }

  /**
   * With a tracing bridge on, starts the call's span and writes its trace context into `sink`
   * (see {@link startCallTrace}); the span ends when the call is released.
   */
  trace(ctx: RequestContext | undefined, info: OutgoingCallInfo, sink: TraceSink, allow?: (key: string) => boolean): void {
    this.#span = startCallTrace(ctx, info, sink, allow);
  }

  /** Stops the transport with `reason` (a ctxkit error, or the caller's signal's reason). */
  abstract cancel(reason: unknown): void;

  /** Whether the call is over (released, or aborted). */
  get released(): boolean {
    return this.#released;
  }

  /**
   * Starts following the context's and the caller's signals and, for a deadline of its own
   * ({@link setDeadline}), arms its timer; over gRPC none is armed (grpc-js times the call).
   * @returns the reason the call must fail without being sent, or `undefined` to send it.
   */
  start(ctx: RequestContext | undefined, callerSignal: AbortSignal | null | undefined, now: number): unknown {
    const deadline = this.#deadline;
    // A ctxkit context is followed directly; another's (a second copy of core) through its signal.
    const watched = ctx instanceof Context ? ctx : undefined;
    const ctxSignal = watched === undefined ? ctx?.signal : undefined;
    const aborted = watched !== undefined ? watched._abortedReason() : ctxSignal?.aborted ? ctxSignal.reason : undefined;
    if (aborted !== undefined) return aborted;
    if (callerSignal?.aborted) return callerSignal.reason;
    if (deadline !== undefined) {
      const delay = deadline - now;
      const contexts = ctx !== undefined && deadline === ctx.deadline && timesItself(ctx);
      // Under 1 ms the header would say 0: the callee could not do anything with it.
      if (delay < 1) {
        if (!contexts) return new DeadlineExceededError();
        expire(ctx);
        return watched !== undefined ? watched._abortedReason() : ctx.signal.reason;
      }
      if (contexts) this.#deadlineOf = ctx;
      // A ref'd timer: the call's socket keeps the process alive anyway, and a leaked one would
      // show. Longer delays than MAX_TIMER_MS would fire at once; they are not timed.
      else if (this.transport === 'http' && delay <= MAX_TIMER_MS) this.#timer = setTimeout(onCallDeadline, delay, this);
    }
    if (watched !== undefined) {
      // Aborted since it was asked above (its deadline, as a millisecond ticked): not sent.
      const late = watched._watch(this);
      if (late !== undefined) {
        this.release();
        return late;
      }
      this.#watched = watched;
    } else if (ctxSignal !== undefined) this.#ctxLink = follow(ctxSignal, this);
    if (callerSignal != null) this.#callerLink = follow(callerSignal, this);
    return undefined;
  }

  /**
   * The transport reports that the call's deadline passed (gRPC's own timer). When that deadline
   * is the context's, the context expires now instead of a timer tick later, so that whoever
   * waits on it sees the context's DEADLINE_EXCEEDED rather than a child error.
   */
  deadlinePassed(now = Date.now()): void {
    const ctx = this.#deadlineOf;
    if (ctx !== undefined && ctx.deadline! - now <= DEADLINE_SLACK_MS) expire(ctx);
  }

  /** Releases the call and stops the transport with `reason`; nothing once released. */
  abort(reason: unknown): void {
    if (this.#released) return;
    this.error ??= reason;
    this.release();
    this.cancel(reason);
  }

  /** Undoes the timer and both signal links, once. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (this.#watched !== undefined) {
      this.#watched._unwatch(this);
      this.#watched = undefined;
    }
    if (this.#ctxLink !== undefined) this.#ctxLink.drop(this);
    if (this.#callerLink !== undefined) this.#callerLink.drop(this);
    this.#ctxLink = this.#callerLink = undefined;
    if (this.#span !== undefined) {
      this.#span.end(this.status, this.error);
      this.#span = undefined;
    }
  }

  /** @internal The context it follows aborted. */
  _contextAborted(reason: Error): void {
    this.#watched = undefined;
    this.abort(reason);
  }

  /** @internal The call's own timer fired. */
  _timedOut(): void {
    this.#timer = undefined;
    this.abort(new DeadlineExceededError());
  }
}

function onCallDeadline(call: OutgoingCall): void {
  call._timedOut();
}

/**
 * Whether the context aborts by itself at its deadline: ctxkit's own contexts do (their timer, or
 * their parent's). A context object from elsewhere may not, and then the call times itself.
 */
function timesItself(ctx: RequestContext): boolean {
  return typeof (ctx as Partial<Context>)._expire === 'function';
}

/** Expires a ctxkit context at its deadline: the one that owns the deadline, so that its children follow. */
function expire(ctx: RequestContext): void {
  let owner = ctx as Partial<Context>;
  while (owner._ownDeadline === false && owner._parent !== undefined && owner._parent.deadline === ctx.deadline) {
    owner = owner._parent as Partial<Context>;
  }
  if (typeof owner._expire === 'function') owner._expire();
  else (ctx as Context)._expire();
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
    for (const call of this.calls) call.abort(reason);
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

// Keyed by signal, weakly: a registry of the listeners above, not state borrowed by a call.
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
