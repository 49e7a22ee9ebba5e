import { CancelledError, DeadlineExceededError, InvalidMetadataError, NoContextError } from './errors.js';
import { newRequestId, newTraceId } from './ids.js';
import { checkValue, type ContextKey, LIMITS, normalizeKey } from './schema.js';
import { als, slot } from './storage.js';
import { checkTimeout, earliestDeadline, MAX_TIMER_MS } from './deadline.js';
import { isW3CTraceId } from './traceparent.js';

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
   * `x-request-id` from Envoy), received or given, kept beside {@link traceId}: logged with it
   * and forwarded unchanged under the header it came in. `undefined` when there was none.
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
  /** The value of a propagated key, typed by its declaration. */
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
   * in place. For the owner, before the handler runs.
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

/** Values to set: wire names or camelCase/snake_case forms of declared keys. */
export type ContextValues = Readonly<Record<string, string | undefined>>;

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

/** @internal The one implementation of {@link OwnedContext}. */
export class Context implements OwnedContext {
  _controller: AbortController | undefined = undefined;
  _reason: Error | undefined = undefined;
  _timer: NodeJS.Timeout | undefined = undefined;
  _onParentAbort: (() => void) | undefined = undefined;
  _ended = false;
  /** Whether ctxkit chose the trace id at random (then a `traceparent` it starts says so). */
  _randomTraceId = false;

  constructor(
    readonly traceId: string,
    readonly requestId: string,
    public userId: string | undefined,
    readonly metadata: Map<string, string>,
    readonly deadline: number | undefined,
    /** Whether this context's deadline is its own (earlier than its parent's): then it times itself. */
    readonly _ownDeadline: boolean,
    readonly _parent: RequestContext | undefined,
  ) {}

  get signal(): AbortSignal {
    return this._controller?.signal ?? this._createSignal();
  }

  get legacyTraceId(): string | undefined {
    // A legacy id travels as the wire value of the header it came in (see carrier.ts).
    const sent = this.metadata.get('trace-id');
    return sent !== undefined && sent !== this.traceId ? sent : this.metadata.get(LEGACY_REQUEST_ID);
  }

  remainingMs(): number {
    const d = this.deadline;
    if (d === undefined) return Number.POSITIVE_INFINITY;
    return Math.max(d - Date.now(), 0);
  }

  get<T extends string>(key: ContextKey<T> | string): T | undefined {
    return this.metadata.get(typeof key === 'string' ? key : key.name) as T | undefined;
  }

  cancel(reason?: Error): void {
    this._abort(reason ?? new CancelledError());
  }

  assign(values: ContextValues): void {
    // Everything is checked before anything is written: a bad value leaves the context as it was.
    const entries = checkedEntries(values);
    let added = 0;
    let bytes = 0;
    for (const [k, v] of this.metadata) bytes += k.length + v.length;
    for (const [k, v] of entries) {
      const old = this.metadata.get(k);
      if (old === undefined) added++;
      bytes += v.length - (old?.length ?? -k.length);
    }
    checkLimits(this.metadata.size + added, bytes);
    for (const [k, v] of entries) {
      this.metadata.set(k, v);
      if (k === 'user-id') this.userId = v;
    }
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
      this._abort(new DeadlineExceededError());
    } else if (delay <= MAX_TIMER_MS) {
      // Longer delays would fire at once (Node clamps them to 1 ms); such a deadline is
      // reported by remainingMs() but not timed.
      const timer = setTimeout(onDeadline, delay, this);
      timer.unref();
      this._timer = timer;
    }
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
  ctx._abort(new DeadlineExceededError());
}

/** A new chain's trace id: the active span's when a tracing bridge has one. */
function rootTraceId(): string {
  return slot.bridge?.activeTraceId() ?? newTraceId();
}

/** The header a legacy trace id from Envoy or Istio comes in (kept beside the W3C id). */
export const LEGACY_REQUEST_ID = 'x-request-id';

/** Ids that code may not change once a chain started. */
const FIXED = new Set(['trace-id', 'request-id']);

// Normalising a name costs a few regex passes; names repeat, so results are remembered.
const wireNames = new Map<string, string>();
function wireName(name: string): string {
  let key = wireNames.get(name);
  if (key === undefined) {
    key = normalizeKey(name);
    if (wireNames.size < 512) wireNames.set(name, key);
  }
  return key;
}

/** Validates values set by code, in wire form; throws where a value cannot go on the wire. */
function checkedEntries(values: ContextValues): [string, string][] {
  const out: [string, string][] = [];
  for (const name of Object.keys(values)) {
    const value = values[name];
    if (value === undefined) continue;
    const key = wireName(name);
    if (FIXED.has(key)) throw new InvalidMetadataError(name, 'trace-id and request-id are set when a chain starts');
    out.push([key, checkValue(key, value)]);
  }
  return out;
}

/** Validates and writes values set by code into `into`; returns the resulting user id. */
function setValues(into: Map<string, string>, values: ContextValues, userId: string | undefined): string | undefined {
  for (const [key, value] of checkedEntries(values)) {
    into.set(key, value);
    if (key === 'user-id') userId = value;
  }
  checkTotals(into);
  return userId;
}

function checkTotals(metadata: Map<string, string>): void {
  let bytes = 0;
  for (const [k, v] of metadata) bytes += k.length + v.length;
  checkLimits(metadata.size, bytes);
}

function checkLimits(entries: number, bytes: number): void {
  if (entries > LIMITS.entries) {
    throw new InvalidMetadataError('(all keys)', `more than ${LIMITS.entries} propagated entries`);
  }
  if (bytes > LIMITS.totalBytes) {
    throw new InvalidMetadataError('(all keys)', `propagated entries exceed ${LIMITS.totalBytes} bytes in total`);
  }
}

/** Builds a child of `parent` (or a new root) without validating anything. */
function deriveContext(
  parent: RequestContext | undefined,
  deadline: number | undefined,
  metadata: Map<string, string> | undefined,
  userId?: string,
): Context {
  if (parent === undefined) {
    const traceId = rootTraceId();
    const requestId = newRequestId();
    const md = metadata ?? new Map<string, string>();
    md.set('trace-id', traceId);
    md.set('request-id', requestId);
    const root = new Context(traceId, requestId, userId, md, deadline, deadline !== undefined, undefined);
    root._randomTraceId = true;
    return root;
  }
  const pd = parent.deadline;
  const own = deadline !== undefined && (pd === undefined || deadline < pd);
  const child = new Context(
    parent.traceId,
    parent.requestId,
    userId ?? parent.userId,
    (metadata ?? parent.metadata) as Map<string, string>,
    own ? deadline : pd,
    own,
    parent,
  );
  child._randomTraceId = (parent as Partial<Context>)._randomTraceId === true;
  return child;
}

/**
 * Creates a context. Values given here are set by code: they are validated and a bad one
 * throws. The caller owns the result: run code in it with {@link runWithContext}, and `end()`
 * it when the work is done so that its timer is released.
 *
 * @throws {@link InvalidMetadataError} for an id or value that cannot go on the wire.
 * @example
 * using ctx = createContext({ userId: 'u-42', timeoutMs: 2000 });
 * await runWithContext(ctx, () => handleJob(job));
 */
export function createContext(init: ContextInit = {}): OwnedContext {
  let deadline = init.deadline;
  if (deadline !== undefined && !Number.isFinite(deadline)) {
    throw new RangeError(`ctxkit: deadline must be finite epoch milliseconds, got ${String(deadline)}`);
  }
  if (init.timeoutMs !== undefined) {
    deadline = earliestDeadline(deadline, Date.now() + checkTimeout(init.timeoutMs, 'timeoutMs'));
  }
  const parent = init.parent;
  const metadata = new Map<string, string>();
  let traceId: string;
  let requestId: string;
  if (parent === undefined) {
    // A given id that is not a W3C one is kept as the legacy id, beside a new W3C one.
    const given = init.traceId === undefined ? undefined : checkValue('trace-id', init.traceId);
    traceId = given !== undefined && isW3CTraceId(given) ? given : rootTraceId();
    requestId = init.requestId === undefined ? newRequestId() : checkValue('request-id', init.requestId);
    metadata.set('trace-id', given ?? traceId);
    metadata.set('request-id', requestId);
  } else {
    if (init.traceId !== undefined || init.requestId !== undefined) {
      throw new InvalidMetadataError('trace-id', 'a child context keeps its parent ids');
    }
    for (const [k, v] of parent.metadata) metadata.set(k, v);
    traceId = parent.traceId;
    requestId = parent.requestId;
  }
  let userId = parent?.userId;
  if (init.userId !== undefined) {
    userId = checkValue('user-id', init.userId);
    metadata.set('user-id', userId);
  }
  if (init.values !== undefined) userId = setValues(metadata, init.values, userId);
  else checkTotals(metadata);
  if (parent === undefined) {
    const root = new Context(traceId, requestId, userId, metadata, deadline, deadline !== undefined, undefined);
    root._randomTraceId = traceId !== init.traceId;
    return root;
  }
  return deriveContext(parent, deadline, metadata, userId);
}

/**
 * Runs `fn(...args)` with `ctx` as the current context; everything `fn` awaits or schedules
 * inherits it. Does not end `ctx`.
 */
export function runWithContext<R, A extends unknown[] = []>(ctx: RequestContext, fn: (...args: A) => R, ...args: A): R {
  return als.run(ctx, fn, ...args);
}

/**
 * Returns the context of the request being served.
 *
 * @throws {@link NoContextError} outside a request; {@link tryCurrentContext} probes instead.
 */
export function currentContext(): RequestContext {
  return als.getStore() ?? throwNoContext();
}

function throwNoContext(): never {
  throw new NoContextError();
}

/** Returns the context of the request being served, or `undefined` outside any request. */
export function tryCurrentContext(): RequestContext | undefined {
  return als.getStore();
}

function runOwned<R>(child: Context, fn: () => R): R {
  let result: R;
  try {
    result = als.run(child, fn);
  } catch (error) {
    child.end();
    throw error;
  }
  if (result !== null && typeof result === 'object' && typeof (result as unknown as PromiseLike<unknown>).then === 'function') {
    return Promise.resolve(result).finally(() => child.end()) as R;
  }
  child.end();
  return result;
}

/**
 * Runs `fn` in a child context whose deadline is `ms` from now, or the parent's if that is
 * earlier. The child's signal aborts with {@link DeadlineExceededError} at its deadline; `fn`
 * is not interrupted otherwise. Outside any request the child is a new root context.
 *
 * @throws RangeError for a negative or non-finite `ms`.
 * @example
 * const stock = await withTimeout(200, () => inventory.check(req)); // ≤200 ms for this call
 */
export function withTimeout<R>(ms: number, fn: () => R): R {
  checkTimeout(ms, 'withTimeout(ms)');
  return runOwned(deriveContext(als.getStore(), Date.now() + ms, undefined), fn);
}

/**
 * Runs `fn` in a child context whose deadline is `epochMs`, or the parent's if that is earlier.
 * @throws RangeError for a non-finite deadline.
 */
export function withDeadline<R>(epochMs: number, fn: () => R): R {
  if (!Number.isFinite(epochMs)) {
    throw new RangeError(`ctxkit: withDeadline needs finite epoch milliseconds, got ${String(epochMs)}`);
  }
  return runOwned(deriveContext(als.getStore(), epochMs, undefined), fn);
}

/**
 * Runs `fn` in a child context carrying more propagated values (declared keys or `userId`).
 * @throws {@link InvalidMetadataError} for an undeclared key or a value that cannot go on the wire.
 * @example
 * await withValues({ tenantId: 'acme' }, () => orders.list({}));
 */
export function withValues<R>(values: ContextValues, fn: () => R): R {
  const parent = als.getStore();
  const metadata = new Map(parent?.metadata);
  const userId = setValues(metadata, values, parent?.userId);
  return runOwned(deriveContext(parent, undefined, metadata, userId), fn);
}

/** Typed form of {@link withValues} for one declared key. */
export function withValue<T extends string, R>(key: ContextKey<T>, value: T, fn: () => R): R {
  return withValues({ [key.name]: value }, fn);
}

/**
 * Runs `fn` in a child context that `fn` may cancel: `cancel()` aborts the child's signal (and
 * its descendants') with {@link CancelledError}, never the parent's.
 */
export function withCancel<R>(fn: (cancel: (reason?: Error) => void) => R): R {
  const child = deriveContext(als.getStore(), undefined, undefined);
  const cancel = (reason?: Error) => child.cancel(reason);
  return runOwned(child, () => fn(cancel));
}

/**
 * Returns a function that runs `fn` in the context current now, wherever it is called from.
 * For EventEmitter listeners, callback-style pools and queues, which lose the context.
 */
export function bindContext<F extends (...args: any[]) => any>(fn: F): F {
  const ctx = als.getStore();
  if (ctx === undefined) {
    return function unbound(this: unknown, ...args: unknown[]) {
      return als.exit(() => fn.apply(this, args));
    } as F;
  }
  return function bound(this: unknown, ...args: unknown[]) {
    return als.run(ctx, () => fn.apply(this, args));
  } as F;
}
