/**
 * Creating contexts and deriving children, as Go does: a child's deadline is never later than
 * its parent's, cancelling a parent cancels its children, never the reverse.
 */
import { Context, type ContextInit, type OwnedContext, type RequestContext } from './context.js';
import { checkTimeout, earliestDeadline } from './deadline.js';
import { InvalidMetadataError } from './errors.js';
import { newRequestId, newTraceId } from './ids.js';
import { type ContextKey, type ContextValues, checkTotals, checkValue, setValues } from './schema.js';
import { als, slot } from './storage.js';
import { isW3CTraceId } from './traceparent.js';

/** A new chain's trace id: the active span's when a tracing bridge has one. */
function rootTraceId(): string {
  return slot.bridge?.activeTraceId() ?? newTraceId();
}

/**
 * Builds a child of `parent` (or a new root) without validating anything. Without `metadata` of
 * its own, a child shares its parent's values.
 */
function deriveContext(parent: RequestContext | undefined, deadline: number | undefined, metadata: Map<string, string> | undefined): Context {
  if (parent === undefined) {
    const md = metadata ?? new Map<string, string>();
    const traceId = rootTraceId();
    const requestId = newRequestId();
    md.set('trace-id', traceId);
    md.set('request-id', requestId);
    const root = new Context(traceId, requestId, md, deadline, deadline !== undefined, undefined);
    root._randomTraceId = true;
    return root;
  }
  const pd = parent.deadline;
  const own = deadline !== undefined && (pd === undefined || deadline < pd);
  const shares = metadata === undefined;
  const child = new Context(
    parent.traceId,
    parent.requestId,
    (metadata ?? parent.metadata) as Map<string, string>,
    own ? deadline : pd,
    own,
    parent,
    shares,
  );
  child._randomTraceId = (parent as Partial<Context>)._randomTraceId === true;
  child._legacyTraceId = parent.legacyTraceId;
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
  if (init.userId !== undefined) metadata.set('user-id', checkValue('user-id', init.userId));
  if (init.values !== undefined) setValues(metadata, init.values);
  else checkTotals(metadata);
  if (parent === undefined) {
    const root = new Context(traceId, requestId, metadata, deadline, deadline !== undefined, undefined);
    root._randomTraceId = traceId !== init.traceId;
    if (init.traceId !== undefined && traceId !== init.traceId) root._legacyTraceId = init.traceId;
    return root;
  }
  return deriveContext(parent, deadline, metadata);
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
 * Runs `fn` in a child context carrying more propagated values (declared keys or `userId`),
 * named in wire form or camelCase/snake_case (`{ tenantId: 'acme' }` sets `tenant-id`).
 * The child takes a copy of its parent's values.
 * @throws {@link InvalidMetadataError} for an undeclared key or a value that cannot go on the wire.
 * @example
 * await withValues({ tenantId: 'acme' }, () => orders.list({}));
 */
export function withValues<R>(values: ContextValues, fn: () => R): R {
  const parent = als.getStore();
  const metadata = new Map(parent?.metadata);
  setValues(metadata, values);
  return runOwned(deriveContext(parent, undefined, metadata), fn);
}

/** Typed form of {@link withValues} for one declared key: a value of the wrong type does not compile. */
export function withValue<T extends string, R>(key: ContextKey<T>, value: NoInfer<T>, fn: () => R): R {
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
