import { headers as natsHeaders, Match, type MsgHdrs } from 'nats';
import type { RequestContext } from '@ctxkit/core';
import { type CarrierGetter, injectContext } from '@ctxkit/core/adapter';

/**
 * Reads and writes context keys in NATS message headers: one static object, the headers passed
 * to each call. Keys are read case-insensitively (a Go producer may write `Trace-Id`); a key sent
 * more than once, in any case, comes back as several values and is dropped by the extractor.
 */
export const natsHeaderAccessor = {
  get(carrier: MsgHdrs | undefined, key: string): string | readonly string[] | undefined {
    if (carrier === undefined) return undefined;
    const values = carrier.values(key, Match.IgnoreCase);
    return values.length === 0 ? undefined : values.length === 1 ? values[0] : values;
  },
  set(carrier: MsgHdrs, key: string, value: string): void {
    // What the caller set on this message wins over the context's value.
    if (!carrier.has(key, Match.IgnoreCase)) carrier.set(key, value);
  },
} as const;

/**
 * A message's headers, or why they cannot be read. nats.js decodes them on first access and
 * throws on a header block it cannot parse (a lone CR in a value, a control character in a key);
 * a producer in any language can send one, and a throw there would fail the consumer. @internal
 */
export function headersOf(msg: { readonly headers?: MsgHdrs | undefined }): MsgHdrs | undefined | { readonly malformed: string } {
  try {
    return msg.headers;
  } catch (error) {
    return { malformed: error instanceof Error ? error.message : String(error) };
  }
}

// The extractor and injectContext run synchronously: module-level functions reading the headers
// of the message being handled spare a closure per message, and are never re-entered.
let reading: MsgHdrs | undefined;
let writing: MsgHdrs | undefined;
/** @internal */
export const readHeader: CarrierGetter = (key) => natsHeaderAccessor.get(reading, key);
function writeHeader(key: string, value: string): void {
  natsHeaderAccessor.set(writing!, key, value);
}

/** Runs `read` with the getter reading `carrier`. @internal */
export function withReading<R>(carrier: MsgHdrs | undefined, read: (get: CarrierGetter) => R): R {
  reading = carrier;
  try {
    return read(readHeader);
  } finally {
    reading = undefined;
  }
}

/**
 * Headers for an outgoing message: the caller's own (`given`) or new ones, with every propagated
 * key of `ctx` the caller did not set. @internal
 */
export function outgoingHeaders(ctx: RequestContext, given: MsgHdrs | undefined, allow: ((key: string) => boolean) | undefined): MsgHdrs {
  const out = given ?? natsHeaders();
  writing = out;
  try {
    injectContext(ctx, writeHeader, allow);
  } finally {
    writing = undefined;
  }
  return out;
}
