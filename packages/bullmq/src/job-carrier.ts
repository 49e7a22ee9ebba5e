import type { RequestContext } from '@ctxkit/core';
import { type CarrierGetter, injectContext } from '@ctxkit/core/adapter';

/** The field of a job's data that carries the context of the code that enqueued it. */
export const CARRIER_FIELD = '_ctxkit';

/** The context of an enqueued job, as stored in its data: wire keys to values. */
export type JobCarrier = Record<string, string>;

/**
 * Reads and writes context keys in a job's carrier (the {@link CARRIER_FIELD} object of its
 * data): one static object, the carrier passed to each call. A job's data comes back from Redis as
 * whatever the producer stored, so a read returns only own properties and hands non-strings on
 * (wrapped, so that the extractor drops them as "not a string").
 */
export const jobCarrierAccessor = {
  get(carrier: Readonly<Record<string, unknown>> | undefined, key: string): string | readonly unknown[] | undefined {
    if (carrier === undefined || !Object.hasOwn(carrier, key)) return undefined;
    const value = carrier[key];
    return typeof value === 'string' ? value : [value];
  },
  set(carrier: JobCarrier, key: string, value: string): void {
    carrier[key] = value;
  },
} as const;

// The extractor and injectContext run synchronously: module-level functions reading the carrier
// of the job being started spare a closure per job, and are never re-entered.
let reading: Readonly<Record<string, unknown>> | undefined;
let writing: JobCarrier | undefined;
const readCarrier: CarrierGetter = (key) => jobCarrierAccessor.get(reading, key);
function writeCarrier(key: string, value: string): void {
  jobCarrierAccessor.set(writing!, key, value);
}

/** Runs `read` with the getter reading `carrier`. @internal */
export function withReading<R>(carrier: Readonly<Record<string, unknown>> | undefined, read: (get: CarrierGetter) => R): R {
  reading = carrier;
  try {
    return read(readCarrier);
  } finally {
    reading = undefined;
  }
}

/** The carrier of `ctx`: its propagated keys, no deadline (a job outlives its request). @internal */
export function carrierOf(ctx: RequestContext, allow: ((key: string) => boolean) | undefined): JobCarrier {
  // A null-prototype object: nothing inherited can be read back as a key.
  const out = Object.create(null) as JobCarrier;
  writing = out;
  try {
    injectContext(ctx, writeCarrier, allow);
  } finally {
    writing = undefined;
  }
  return out;
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
