/**
 * grpc-js `Metadata` as a ctxkit carrier: one static reader and writer for every call, so that
 * nothing is borrowed at module level while a call's metadata is read or written (an `allow`
 * predicate or `onDrop` handler may itself make a gRPC call).
 */
import type { Metadata } from '@grpc/grpc-js';
import type { CarrierGetter, CarrierSetter } from '@ctxkit/core/adapter';

/** Reads incoming metadata: every value of a key (strings, or Buffers for `-bin` keys). */
export const metadataGetter: CarrierGetter<Metadata> = {
  get: (metadata, key) => metadata.get(key),
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
