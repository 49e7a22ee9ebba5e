/**
 * grpc-js `Metadata` as a ctxkit carrier: one static reader and writer for every call, so that
 * nothing is borrowed at module level while a call's metadata is read or written (an `allow`
 * predicate or `onDrop` handler may itself make a gRPC call).
 */
import type { Metadata } from '@grpc/grpc-js';
import type { CarrierGetter, CarrierSetter } from '@ctxkit/core/adapter';

/** grpc-js's own store of a `Metadata`'s values, by lowercase key (protected, stable since 1.0). */
type WithRepr = Metadata & { readonly internalRepr?: unknown };

/**
 * Reads incoming metadata: every value of a key (strings, or Buffers for `-bin` keys);
 * `undefined` for a key that is absent. Core reads a dozen keys of every call, most of them
 * absent: `Metadata.get` lowercases the key and answers a new empty array for each, so the values
 * are read from grpc-js's map directly (core's names are lowercase already), through `get` only
 * when a version of grpc-js keeps them otherwise. Keys are matched case-insensitively, as by `get`.
 */
export const metadataGetter: CarrierGetter<Metadata> = {
  get: (metadata, key) => {
    const repr = (metadata as WithRepr).internalRepr;
    if (!(repr instanceof Map)) return metadata.get(key);
    const values = repr.get(key) as readonly unknown[] | undefined;
    if (values !== undefined) return values;
    // Keys are stored lowercase: a caller's `Trace-Id` is looked up as `trace-id`.
    const lower = key.toLowerCase();
    return lower === key ? undefined : (repr.get(lower) as readonly unknown[] | undefined);
  },
};

/** Writes outgoing metadata, replacing what the caller set for that key. */
export const metadataSetter: CarrierSetter<Metadata> = {
  set: (metadata, key, value) => metadata.set(key, value),
};

/** Writes outgoing metadata unless the caller set the key on the call: what the caller wrote wins. */
export const metadataSetIfAbsent: CarrierSetter<Metadata> = {
  set: (metadata, key, value) => {
    if (metadata.get(key).length === 0) metadata.set(key, value);
  },
};
