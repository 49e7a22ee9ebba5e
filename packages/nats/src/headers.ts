import { headers as natsHeaders, Match, type MsgHdrs } from 'nats';
import type { RequestContext } from '@ctxkit/core';
import { type CallSpan, type CarrierGetter, type CarrierSetter, injectContext, startCallTrace } from '@ctxkit/core/adapter';

/**
 * Reads context keys from NATS message headers: one static object, the headers passed to each
 * call. Keys are read case-insensitively (a Go producer may write `Trace-Id`); a key sent more
 * than once, in any case, comes back as several values and is dropped by the extractor.
 */
export const natsHeadersGetter: CarrierGetter<MsgHdrs | undefined> = {
  get(carrier, key) {
    if (carrier === undefined) return undefined;
    const values = carrier.values(key, Match.IgnoreCase);
    return values.length === 0 ? undefined : values.length === 1 ? values[0] : values;
  },
};

/** Writes context keys into outgoing NATS headers; what the caller set on the message wins. */
export const natsHeadersSetter: CarrierSetter<MsgHdrs> = {
  set(carrier, key, value) {
    if (!carrier.has(key, Match.IgnoreCase)) carrier.set(key, value);
  },
};

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

/**
 * Headers for an outgoing message: the caller's own (`given`) or new ones, with every propagated
 * key of `ctx` the caller did not set, and the budget of a request. With the OpenTelemetry bridge
 * on, the message's producer span (`operation` on `subject`) is started and its trace context
 * written; the caller ends the span when the send is over. @internal
 */
export function outgoingHeaders(
  ctx: RequestContext,
  given: MsgHdrs | undefined,
  allow: ((key: string) => boolean) | undefined,
  operation: 'publish' | 'request' | 'create',
  subject: string,
  budgetMs?: number,
): { readonly headers: MsgHdrs; readonly span: CallSpan | undefined } {
  const headers = given ?? natsHeaders();
  injectContext(ctx, natsHeadersSetter, headers, allow, budgetMs);
  const sink = { has: (key: string) => headers.has(key, Match.IgnoreCase), set: (key: string, value: string) => headers.set(key, value) };
  const span = startCallTrace(ctx, { transport: 'messaging', method: operation, target: subject, system: 'nats' }, sink, allow);
  return { headers, span };
}
