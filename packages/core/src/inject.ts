/** Injection: writes a context's propagated keys into an outgoing carrier, for every transport. */
import type { CarrierSetter } from './carrier.js';
import type { RequestContext } from './context.js';
import { slot } from './storage.js';

const TRACEPARENT = 'traceparent';
const TRACESTATE = 'tracestate';

/**
 * Writes every propagated key of `ctx` into `carrier` through `setter` (one static object per
 * transport), in wire form. `allow`, when given, limits which keys leave (for external targets);
 * it may itself make calls that inject. A received `traceparent`/`tracestate` is forwarded
 * unless a tracing bridge is on (then the tracer's instrumentation writes its own).
 */
export function injectContext<C>(
  ctx: RequestContext,
  setter: CarrierSetter<C>,
  carrier: C,
  allow?: ((key: string) => boolean) | undefined,
): void {
  const tracer = slot.bridge !== undefined;
  for (const [k, v] of ctx.metadata) {
    if (tracer && (k === TRACEPARENT || k === TRACESTATE)) continue;
    if (allow === undefined || allow(k)) setter.set(carrier, k, v);
  }
}
