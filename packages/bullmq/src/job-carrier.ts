import type { RequestContext } from '@ctxkit/core';
import { type CallSpan, type CarrierGetter, injectContext, recordCarrier, startCallTrace } from '@ctxkit/core/adapter';

/** The field of a job's data that carries the context of the code that enqueued it. */
export const CARRIER_FIELD = '_ctxkit';

/** The context of an enqueued job, as stored in its data: wire keys to values. */
export type JobCarrier = Record<string, string>;

/**
 * Reads context keys from a job's carrier (the {@link CARRIER_FIELD} object of its data): one
 * static object, the carrier passed to each call. A job's data comes back from Redis as whatever
 * the producer stored, so a read takes only own properties and hands non-strings on (wrapped, so
 * that the extractor drops them as "not a string").
 */
export const jobCarrierGetter: CarrierGetter<Readonly<Record<string, unknown>> | undefined> = {
  get(carrier, key) {
    if (carrier === undefined || !Object.hasOwn(carrier, key)) return undefined;
    const value = carrier[key];
    return typeof value === 'string' ? value : [value];
  },
};

/**
 * The carrier of `ctx`: its propagated keys, no deadline (a job outlives its request). With the
 * OpenTelemetry bridge on, the job's producer span (`add` on `queue`) is started and its trace
 * context written; the caller ends it once the job is stored. @internal
 */
export function carrierOf(
  ctx: RequestContext,
  allow: ((key: string) => boolean) | undefined,
  queue: string,
): { readonly carrier: JobCarrier; readonly span: CallSpan | undefined } {
  // A null-prototype object: nothing inherited can be read back as a key.
  const carrier = Object.create(null) as JobCarrier;
  injectContext(ctx, recordCarrier, carrier, allow);
  const sink = {
    has: (key: string) => Object.hasOwn(carrier, key),
    set(key: string, value: string) {
      carrier[key] = value;
    },
  };
  const span = startCallTrace(ctx, { transport: 'messaging', method: 'add', target: queue, system: 'bullmq' }, sink, allow);
  return { carrier, span };
}

/**
 * The carrier found in a job's data, or why it cannot be read (it is not a plain object).
 * @internal
 */
export function carrierIn(data: unknown): Readonly<Record<string, unknown>> | undefined | { readonly malformed: string } {
  if (data === null || typeof data !== 'object' || !Object.hasOwn(data, CARRIER_FIELD)) return undefined;
  const carrier = (data as Record<string, unknown>)[CARRIER_FIELD];
  if (carrier === null || typeof carrier !== 'object' || Array.isArray(carrier)) return { malformed: 'not an object' };
  return carrier as Record<string, unknown>;
}
