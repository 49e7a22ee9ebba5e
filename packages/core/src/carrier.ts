/**
 * Carrier accessors: how the extractor reads a transport's incoming headers and how injection
 * writes its outgoing ones. As OpenTelemetry's `TextMapGetter`/`TextMapSetter`, an accessor
 * receives the carrier it works on, so one static object serves every request and nothing is
 * borrowed at module level for the length of a call: a user callback reached during extraction
 * or injection may start another one.
 */
import type { IncomingHttpHeaders } from 'node:http';

/**
 * Reads one incoming key (lowercase) from a carrier `C`. Several values (duplicate headers,
 * repeated metadata) come as an array; non-string entries are dropped by the extractor.
 *
 * @example
 * // NATS headers, say: one static object for every message.
 * const natsHeaders: CarrierGetter<MsgHdrs> = { get: (h, key) => h.values(key) };
 */
export interface CarrierGetter<C> {
  get(carrier: C, key: string): string | readonly unknown[] | undefined;
}

/** Writes one outgoing key (lowercase) and its value into a carrier `C`. */
export interface CarrierSetter<C> {
  set(carrier: C, key: string, value: string): void;
}

/** Node's incoming HTTP headers (`req.headers`, names lowercased by Node). */
export const nodeHeadersGetter: CarrierGetter<IncomingHttpHeaders> = {
  get: (headers, key) => headers[key],
};

/**
 * A plain record of header names (lowercase) to values, read and written: test carriers, job
 * data, message headers. One static object for both directions: a record read as incoming
 * headers can take a string array per name; one written as outgoing gets one string per name.
 */
export const recordCarrier: CarrierGetter<Readonly<Record<string, string | readonly string[] | undefined>>> & CarrierSetter<Record<string, string>> = {
  get: (record, key) => record[key],
  set: (record, key, value) => {
    record[key] = value;
  },
};

/**
 * Headers being prepared for one outgoing HTTP call, whatever their container (fetch `Headers`,
 * the undici interceptor's record): names are case-insensitive. @internal
 */
export interface HeaderSink {
  has(name: string): boolean;
  get(name: string): string | null | undefined;
  set(name: string, value: string): void;
}
