/**
 * The context model: what a request's context is ({@link RequestContext}), what its owner may do
 * with it ({@link OwnedContext}), and the one class that implements both.
 */
import { MAX_TIMER_MS } from './deadline.js';
import { deadlines, type Timed } from './deadline-queue.js';
import { CancelledError, DeadlineExceededError } from './errors.js';
import { type ContextKey, type ContextValues, checkedValues, checkLimits, wireForm } from './schema.js';
import { als, slot } from './storage.js';

/**
 * The context of one request: its ids, deadline, cancellation and propagated values.
 * Immutable for the code that reads it; children are derived with {@link withTimeout},
 * {@link withDeadline}, {@link withValues} and {@link withCancel}.
 */
export interface RequestContext {
  /** The trace id: always a W3C trace id (32 lowercase hex digits, not all zeros). */
  readonly traceId: string;
  /**
   * A legacy trace id that is not a W3C one (an opaque `trace-id` from an old service, a UUID
   * `x-request-id` from Envoy when nothing else named the trace), received or given, kept beside
   * {@link traceId} and logged with it. A `trace-id` travels on unchanged under its header; an
   * `x-request-id` as the request id's header does (from a peer trusted with the request id).
   * `undefined` when there was none.
   */
  readonly legacyTraceId: string | undefined;
  /** The id of the request that started this chain. */
  readonly requestId: string;
  /** The authenticated user, when known. */
  readonly userId: string | undefined;
  /** Absolute deadline in epoch milliseconds; `undefined` means none. */
  readonly deadline: number | undefined;
  /**
   * Aborts when the deadline passes (reason {@link DeadlineExceededError}) or the context is
   * cancelled (reason {@link CancelledError}). Created on first access: a request that never
   * reads it starts no timer.
   */
  readonly signal: AbortSignal;
  /** Every propagated key (built-in and declared) with its value, in wire form. */
  readonly metadata: ReadonlyMap<string, string>;
  /** Milliseconds left before the deadline (never negative); `Infinity` without one. */
  remainingMs(): number;
  /**
   * The value of a propagated key, typed by its declaration. A name is read in wire form, by the
   * same rule values are written with: `get('tenantId')` and `get('tenant-id')` agree.
   */
  get<T extends string>(key: ContextKey<T> | string): T | undefined;
}

/**
 * A context as its creator holds it: the one who created it cancels it and ends it.
 * Business code sees the same object typed as {@link RequestContext}.
 */
export interface OwnedContext extends RequestContext {
  /** Aborts the signal of this context and of every descendant; never its parent. */
  cancel(reason?: Error): void;
  /**
   * Adds values learnt after creation (the user id once authentication ran) to this context
   * in place. For the owner, before the handler runs. Children that share this context's values
   * (those of {@link withTimeout}, {@link withDeadline}, {@link withCancel}) see them too; a child
   * given values of its own ({@link withValues}, `createContext({ parent })`) took a copy.
   * @throws {@link InvalidMetadataError} for a value that cannot go on the wire.
   */
  assign(values: ContextValues): void;
  /**
   * Releases the timer and the parent listener. Does not abort the signal: work still running
   * keeps its context but stops being timed. Call it when the request ends. Idempotent.
   */
  end(): void;
  [Symbol.dispose](): void;
}

/** What {@link createContext} takes; everything is optional. */
export interface ContextInit {
  /**
   * Defaults to a new 32-hex id. An id that is not a W3C trace id is kept as
   * {@link RequestContext.legacyTraceId}, beside a new W3C one.
   */
  readonly traceId?: string | undefined;
  /** Defaults to a new 16-hex id. */
  readonly requestId?: string | undefined;
  readonly userId?: string | undefined;
  /** Values of declared keys. */
  readonly values?: ContextValues | undefined;
  /** Absolute deadline, epoch ms. */
  readonly deadline?: number | undefined;
  /** Relative budget, ms; with `deadline` the earlier wins. */
  readonly timeoutMs?: number | undefined;
  /** Derive from this context: inherit its ids, values, deadline and cancellation. */
  readonly parent?: RequestContext | undefined;
}

/**
 * @internal The one implementation of {@link OwnedContext}. Its values live in one place, the
 * `metadata` map, which children without values of their own share: `userId` is read from it,
 * so a context and its children never disagree about the user.
 */
export class Context implements OwnedContext, ContextWatcher, Timed {
  _controller: AbortController | undefined = undefined;
  /** Why it aborted (the first reason wins); `undefined` while it has not. */
  _reason: Error | undefined = undefined;
  /** Position in the deadline queue; -1 when its deadline is not being timed. */
  _heapIndex = -1;
  /** Whether it follows its parent's abort and its own deadline (someone listens to it). */
  _following = false;
  _onParentAbort: (() => void) | undefined = undefined;
  /** One adapter's abort handler and its argument (an HTTP edge's 504), without a listener object. */
  _hook: ((arg: never, reason: Error) => void) | undefined = undefined;
  _hookArg: unknown = undefined;
  /** Children and outgoing calls following this context: one inline, a set beyond. */
  _watchers: ContextWatcher | Set<ContextWatcher> | undefined = undefined;
  _ended = false;
  /** Whether ctxkit chose the trace id at random (then a `traceparent` it starts says so). */
  _randomTraceId = false;
  /** A legacy trace id kept beside the W3C one (see {@link RequestContext.legacyTraceId}). */
  _legacyTraceId: string | undefined = undefined;
  /** What a `traceparent` ctxkit starts for this context holds around the parent id, once built. */
  _startedTraceparent: readonly [string, string] | undefined = undefined;
  /** A root's incoming attempt: how many attempts of this request came before (0: the first). */
  _attempt = 0;
  /** Set on a root once one of its calls gave up retrying: its callers should not retry it either. */
  _retriesSpent = false;
  /** What reaching a deadline brought forward by {@link _shorten} aborts with (a drain's reason). */
  _deadlineError: (() => Error) | undefined = undefined;

  constructor(
    readonly traceId: string,
    readonly requestId: string,
    /** Replaced by a copy when a context sharing its parent's map is assigned to. */
    public metadata: Map<string, string>,
    /** Only ever brought forward, by a drain ({@link _shorten}). */
    public deadline: number | undefined,
    /** Whether this context's deadline is its own (earlier than its parent's): then it times itself. */
    public _ownDeadline: boolean,
    readonly _parent: RequestContext | undefined,
    /** Whether `metadata` is the parent's map (a child that added no values). */
    public _sharesValues = false,
  ) {}

  get userId(): string | undefined {
    return this.metadata.get('user-id');
  }

  get signal(): AbortSignal {
    return this._controller?.signal ?? this._createSignal();
  }

  get legacyTraceId(): string | undefined {
    return this._legacyTraceId;
  }

  remainingMs(): number {
    const d = this.deadline;
    if (d === undefined) return Number.POSITIVE_INFINITY;
    return Math.max(d - Date.now(), 0);
  }

  get<T extends string>(key: ContextKey<T> | string): T | undefined {
    return this.metadata.get(typeof key === 'string' ? wireForm(key) : key.name) as T | undefined;
  }

  cancel(reason?: Error): void {
    this._abort(reason ?? new CancelledError());
  }

  assign(values: ContextValues): void {
    // Everything is checked before anything is written: a bad value leaves the context as it was.
    const entries = checkedValues(values);
    let added = 0;
    let bytes = 0;
    // Keys and values apart: iterating entries builds a [key, value] array for each.
    for (const k of this.metadata.keys()) bytes += k.length;
    for (const v of this.metadata.values()) bytes += v.length;
    for (const [k, v] of entries) {
      const old = this.metadata.get(k);
      if (old === undefined) added++;
      bytes += v.length - (old?.length ?? -k.length);
    }
    checkLimits(this.metadata.size + added, bytes);
    // A child never writes into its parent's values.
    if (this._sharesValues) {
      this.metadata = new Map(this.metadata);
      this._sharesValues = false;
    }
    for (const [k, v] of entries) this.metadata.set(k, v);
    slot.bridge?.annotate(this);
  }

  end(): void {
    this._ended = true;
    this._release();
  }

  [Symbol.dispose](): void {
    this.end();
  }

  _createSignal(): AbortSignal {
    const controller = new AbortController();
    this._controller = controller;
    const reason = this._abortedReason();
    if (reason !== undefined) controller.abort(reason);
    else this._follow();
    return controller.signal;
  }

  /**
   * Why this context is aborted, or `undefined`. A context nobody follows is not timed: its
   * deadline, or its parent's abort, is noticed here, when someone first asks.
   */
  _abortedReason(): Error | undefined {
    if (this._reason !== undefined || this._following) return this._reason;
    // An ended context is no longer timed (as its signal's timer was released), but still
    // follows a parent that aborted.
    if (this._ownDeadline && !this._ended && this.deadline! <= Date.now()) {
      this._abort(this._deadlineReason());
      return this._reason;
    }
    const parent = this._parent;
    if (parent === undefined) return undefined;
    const theirs = parent instanceof Context ? parent._abortedReason() : parent.signal.aborted ? (parent.signal.reason as Error) : undefined;
    if (theirs !== undefined) this._abort(theirs);
    return this._reason;
  }

  /**
   * Starts following the parent's abort and timing its own deadline, once: when the signal is
   * first read or the first watcher or handler comes. Call {@link _abortedReason} first.
   */
  _follow(): void {
    if (this._following || this._ended || this._reason !== undefined) return;
    this._following = true;
    const parent = this._parent;
    if (parent instanceof Context) {
      // The parent may have reached its deadline since the caller asked (a millisecond ticked).
      const theirs = parent._watch(this);
      if (theirs !== undefined) {
        this._following = false;
        this._abort(theirs);
        return;
      }
    } else if (parent !== undefined) {
      // A context of another copy of core: through its signal.
      const ps = parent.signal;
      const onAbort = () => this._abort(ps.reason as Error);
      this._onParentAbort = onAbort;
      ps.addEventListener('abort', onAbort, { once: true });
    }
    if (this._ownDeadline) {
      const now = Date.now();
      // Longer delays than a Node timer takes are reported by remainingMs() but not timed.
      if (this.deadline! - now <= MAX_TIMER_MS) deadlines.add(this, now);
    }
  }

  /**
   * Has `watcher` told (in this context) when this context aborts, until {@link _unwatch}.
   * @returns the reason when it is aborted already (then nothing is registered).
   */
  _watch(watcher: ContextWatcher): Error | undefined {
    const reason = this._abortedReason();
    if (reason !== undefined) return reason;
    this._follow(); // may find the parent aborted meanwhile
    if (this._reason !== undefined) return this._reason;
    const w = this._watchers;
    if (w === undefined) this._watchers = watcher;
    else if (w instanceof Set) w.add(watcher);
    else this._watchers = new Set([w, watcher]);
    return undefined;
  }

  _unwatch(watcher: ContextWatcher): void {
    const w = this._watchers;
    if (w === watcher) this._watchers = undefined;
    else if (w instanceof Set) w.delete(watcher);
  }

  /** A parent this context follows aborted. */
  _contextAborted(reason: Error): void {
    this._abort(reason);
  }

  /** From the deadline queue: the deadline passed. */
  _deadlinePassed(): void {
    this._abort(this._deadlineReason());
  }

  /** The deadline passed as a transport timing a call under this context saw it. @internal */
  _expire(): void {
    this._abort(this._deadlineReason());
  }

  _deadlineReason(): Error {
    return this._deadlineError?.() ?? new DeadlineExceededError();
  }

  /**
   * Brings the deadline forward to `deadline` (a server draining): calls started from here on
   * carry the shorter budget, and reaching it aborts the signal with `error()`. Nothing for a
   * context already ended or aborted, or whose deadline is already earlier. Children derived
   * before keep their own deadline value but abort with this context. @internal
   */
  _shorten(deadline: number, error: () => Error): void {
    if (this._ended || this._reason !== undefined) return;
    if (this.deadline !== undefined && this.deadline <= deadline) return;
    // Out of the deadline queue while its key changes, back in at its new place.
    if (this._heapIndex >= 0) deadlines.remove(this);
    this.deadline = deadline;
    this._ownDeadline = true;
    this._deadlineError = error;
    // A context nobody follows notices the new deadline when asked; one followed is timed now.
    if (!this._following) return;
    const now = Date.now();
    if (deadline <= now) this._abort(this._deadlineReason());
    else if (deadline - now <= MAX_TIMER_MS) deadlines.add(this, now);
  }

  _abort(reason: Error): void {
    if (this._reason !== undefined) return;
    this._reason = reason;
    this._release();
    // Told in this context, not in whichever context fired the shared timer or the parent's abort.
    if (this._hook !== undefined || this._controller !== undefined || this._watchers !== undefined) {
      als.run(this, notifyAbort, this, reason);
    }
  }

  _release(): void {
    if (this._heapIndex >= 0) deadlines.remove(this);
    if (!this._following) return;
    this._following = false;
    const parent = this._parent;
    if (parent instanceof Context) parent._unwatch(this);
    const onAbort = this._onParentAbort;
    if (onAbort !== undefined) {
      this._onParentAbort = undefined;
      parent!.signal.removeEventListener('abort', onAbort);
    }
  }
}

/** What follows a context's abort without an `EventTarget` listener: its children, its calls. @internal */
export interface ContextWatcher {
  _contextAborted(reason: Error): void;
}

/**
 * Tells everything that follows `ctx` that it aborted: the adapter's handler first (an edge's 504
 * goes out before the work it answers for is told), then the signal's listeners, then children
 * and calls.
 */
function notifyAbort(ctx: Context, reason: Error): void {
  const hook = ctx._hook;
  if (hook !== undefined) {
    ctx._hook = undefined;
    const arg = ctx._hookArg;
    ctx._hookArg = undefined;
    try {
      hook(arg as never, reason);
    } catch (error) {
      rethrowLater(error);
    }
  }
  const controller = ctx._controller;
  if (controller !== undefined && !controller.signal.aborted) controller.abort(reason);
  const w = ctx._watchers;
  if (w === undefined) return;
  ctx._watchers = undefined;
  if (w instanceof Set) for (const watcher of w) tell(watcher, reason);
  else tell(w, reason);
}

// As an EventTarget does with a listener that throws: the others are still told, and the error
// surfaces as an uncaught exception rather than in whoever aborted.
function tell(watcher: ContextWatcher, reason: Error): void {
  try {
    watcher._contextAborted(reason);
  } catch (error) {
    rethrowLater(error);
  }
}

function rethrowLater(error: unknown): void {
  process.nextTick(() => {
    throw error;
  });
}

/**
 * Calls `handler(arg, reason)` once, in the context, when `ctx` aborts (deadline or cancel), and
 * times its deadline meanwhile: what an HTTP edge's 504 needs, without an `AbortController`, an
 * event listener or an object per request. One handler per context (the adapter that started it).
 * Released with the context (`end()`): a context that ended without aborting never calls it.
 * @returns the reason when `ctx` is aborted already (then `handler` is not called).
 * @internal
 */
export function onContextAbort<A>(ctx: RequestContext, handler: (arg: A, reason: Error) => void, arg: A): Error | undefined {
  if (!(ctx instanceof Context)) {
    // A context of another copy of core: through its signal.
    const signal = ctx.signal;
    if (signal.aborted) return signal.reason as Error;
    signal.addEventListener('abort', () => handler(arg, signal.reason as Error), { once: true });
    return undefined;
  }
  const reason = ctx._abortedReason();
  if (reason !== undefined) return reason;
  if (ctx._hook !== undefined) throw new Error('ctxkit: onContextAbort called twice for one context');
  ctx._follow(); // may find the parent aborted meanwhile
  if (ctx._reason !== undefined) return ctx._reason;
  ctx._hook = handler as (arg: never, reason: Error) => void;
  ctx._hookArg = arg;
  return undefined;
}
