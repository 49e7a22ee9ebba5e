/** Injection: writes a context's propagated keys into an outgoing carrier, for every transport. */
import type { CarrierSetter } from './carrier.js';
import type { Context, RequestContext } from './context.js';
import { formatHttpTimeout, TIMEOUT_HEADER } from './deadline.js';
import { newSpanId } from './ids.js';
import { slot } from './storage.js';
import { isW3CTraceId } from './traceparent.js';

const TRACEPARENT = 'traceparent';
const TRACESTATE = 'tracestate';

/**
 * Writes every propagated key of `ctx` into `carrier` through `setter` (one static object per
 * transport), in wire form. `allow`, when given, limits which keys leave (for external targets);
 * it may itself make calls that inject. Without a tracing bridge every call carries a
 * `traceparent`: the received one with its `tracestate`, unchanged (W3C pass-through), else one
 * ctxkit starts for the call (`startedTraceparent`). With a bridge on, the trace context
 * is the tracer's: see `startCallTrace`.
 * `budgetMs`, for transports without a native deadline (message request-reply, worker tasks),
 * goes out as `request-timeout-ms` in whole milliseconds, which the extractor reads back.
 */
export function injectContext<C>(
  ctx: RequestContext,
  setter: CarrierSetter<C>,
  carrier: C,
  allow?: ((key: string) => boolean) | undefined,
  budgetMs?: number | undefined,
): void {
  const tracer = slot.bridge !== undefined;
  let forwarded = false;
  const metadata = ctx.metadata;
  // Keys, then a lookup: iterating entries builds a [key, value] array for each.
  for (const k of metadata.keys()) {
    if (k === TRACEPARENT || k === TRACESTATE) {
      if (tracer) continue;
      if (k === TRACEPARENT) forwarded = true;
    }
    if (allow === undefined || allow(k)) setter.set(carrier, k, metadata.get(k)!);
  }
  if (budgetMs !== undefined) setter.set(carrier, TIMEOUT_HEADER, formatHttpTimeout(budgetMs));
  if (!tracer && !forwarded && (allow === undefined || allow(TRACEPARENT))) {
    const started = startedTraceparent(ctx);
    if (started !== undefined) setter.set(carrier, TRACEPARENT, started);
  }
}

/**
 * The `traceparent` ctxkit starts for one call of a context that received none: the context's
 * trace id, a parent id of its own for the call (no span is recorded for it; a new one per call,
 * as a tracer's client spans would have), never sampled (ctxkit records nothing, and no sampling
 * decision is invented), and the random flag when ctxkit chose the trace id at random (level 2).
 */
export function startedTraceparent(ctx: RequestContext): string | undefined {
  // Only the parent id changes from call to call: the rest is worked out once per context
  // (the id check is a regex, ~50 ns, and every outgoing call of a request needs the header).
  const own = ctx as Partial<Context>;
  let ends = own._startedTraceparent;
  if (ends === undefined) {
    if (!isW3CTraceId(ctx.traceId)) return undefined; // a context built by another implementation
    ends = [`00-${ctx.traceId}-`, own._randomTraceId === true ? '-02' : '-00'];
    if ('_startedTraceparent' in own) own._startedTraceparent = ends; // ours: keep it
  }
  return ends[0] + newSpanId() + ends[1];
}
