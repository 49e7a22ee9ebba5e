/** Injection: writes a context's propagated keys into an outgoing carrier, for every transport. */
import type { CarrierSetter } from './carrier.js';
import type { RequestContext } from './context.js';
import { formatHttpTimeout, TIMEOUT_HEADER } from './deadline.js';
import { slot } from './storage.js';

const TRACEPARENT = 'traceparent';
const TRACESTATE = 'tracestate';

/**
 * Writes every propagated key of `ctx` into `carrier` through `setter` (one static object per
 * transport), in wire form. `allow`, when given, limits which keys leave (for external targets);
 * it may itself make calls that inject. A received `traceparent`/`tracestate` is forwarded
 * unless a tracing bridge is on (then the tracer's instrumentation writes its own).
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
  for (const [k, v] of ctx.metadata) {
    if (tracer && (k === TRACEPARENT || k === TRACESTATE)) continue;
    if (allow === undefined || allow(k)) setter.set(carrier, k, v);
  }
  if (budgetMs !== undefined) setter.set(carrier, TIMEOUT_HEADER, formatHttpTimeout(budgetMs));
}
