/**
 * The context model: what a request's context is ({@link RequestContext}), what its owner may do
 * with it ({@link OwnedContext}), and the one class that implements both.
 */
import { MAX_TIMER_MS } from './deadline.js';
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
export class Context implements OwnedContext {
  _controller: AbortController | undefined = undefined;
  _reason: Error | undefined = undefined;
  _timer: NodeJS.Timeout | undefined = undefined;
  _onParentAbort: (() => void) | undefined = undefined;
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
    for (const [k, v] of this.metadata) bytes += k.length + v.length;
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
    if (this._reason !== undefined) {
      controller.abort(this._reason);
      return controller.signal;
    }
    const parent = this._parent;
    if (parent !== undefined) {
      const ps = parent.signal;
      if (ps.aborted) {
        controller.abort(ps.reason);
        return controller.signal;
      }
      if (!this._ended) {
        const onAbort = () => this._abort(ps.reason as Error);
        this._onParentAbort = onAbort;
        ps.addEventListener('abort', onAbort, { once: true });
      }
    }
    if (this._ownDeadline && !this._ended) this._arm(this.deadline!);
    return controller.signal;
  }

  _arm(deadline: number): void {
    const delay = deadline - Date.now();
    if (delay <= 0) {
      this._abort(this._deadlineReason());
    } else if (delay <= MAX_TIMER_MS) {
      // Longer delays would fire at once (Node clamps them to 1 ms); such a deadline is
      // reported by remainingMs() but not timed.
      const timer = setTimeout(onDeadline, delay, this);
      timer.unref();
      this._timer = timer;
    }
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
    if (this._ended || this._reason !== undefined || this._controller?.signal.aborted === true) return;
    if (this.deadline !== undefined && this.deadline <= deadline) return;
    this.deadline = deadline;
    this._ownDeadline = true;
    this._deadlineError = error;
    if (this._timer !== undefined) {
      clearTimeout(this._timer);
      this._timer = undefined;
    }
    // A signal not created yet arms the timer when it is.
    if (this._controller !== undefined) this._arm(deadline);
  }

  _abort(reason: Error): void {
    const controller = this._controller;
    if (controller === undefined) this._reason ??= reason;
    // Abort listeners run in this context, not in whichever context fired the timer or the
    // parent's abort (the timer was armed wherever the signal was first read).
    else if (!controller.signal.aborted) als.run(this, abortWith, controller, reason);
    this._release();
  }

  _release(): void {
    if (this._timer !== undefined) {
      clearTimeout(this._timer);
      this._timer = undefined;
    }
    const onAbort = this._onParentAbort;
    if (onAbort !== undefined) {
      this._onParentAbort = undefined;
      this._parent!.signal.removeEventListener('abort', onAbort);
    }
  }
}

function abortWith(controller: AbortController, reason: Error): void {
  controller.abort(reason);
}

function onDeadline(ctx: Context): void {
  ctx._timer = undefined;
  ctx._abort(ctx._deadlineReason());
}
