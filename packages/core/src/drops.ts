import { printable } from './errors.js';
import { slot } from './storage.js';

/** An incoming value that was not accepted, and why. */
export interface Drop {
  /** The header or metadata key. */
  readonly key: string;
  /** Why it was dropped, e.g. `'contains CR or LF'`. */
  readonly reason: string;
  /** The start of the value, escaped so it is safe to log. */
  readonly value: string | undefined;
  /** The trace id of the context built for the request the value came with. */
  readonly traceId: string | undefined;
  /** The request id of that context: log a drop with these to find its request. */
  readonly requestId: string | undefined;
}

/**
 * Receives every dropped incoming value, once the request's context exists (so the drop carries
 * its ids). `origin` is what the adapter serves (`O`): the Fastify request, the Express `req`,
 * the gRPC call.
 */
export type DropHandler<O = unknown> = (drop: Drop, origin: O) => void;

/**
 * The default handler: counts every drop by key and reason, and warns once per pair through
 * `process.emitWarning` (code `CTXKIT_DROPPED`). Keys are declared names or fixed header
 * names, so the number of distinct warnings is bounded.
 */
export const countDrop: DropHandler = (drop) => {
  const id = `${drop.key}: ${drop.reason}`;
  const seen = slot.drops.get(id);
  slot.drops.set(id, (seen ?? 0) + 1);
  if (seen === undefined) {
    process.emitWarning(`ctxkit dropped an incoming ${drop.key} value (${drop.reason}); further drops are counted`, {
      code: 'CTXKIT_DROPPED',
    });
  }
};

/** Counts of dropped incoming values by `"key: reason"`, since start or the last reset. */
export function droppedValues(reset = false): Record<string, number> {
  const out = Object.fromEntries(slot.drops);
  if (reset) slot.drops.clear();
  return out;
}

/** A {@link Drop} while its request's context is being built: the ids are filled in after. */
export type PendingDrop = { -readonly [K in keyof Drop]: Drop[K] };

/** Builds a {@link Drop} with the value made safe to log; the extractor adds the ids. @internal */
export function dropOf(key: string, reason: string, value: unknown): PendingDrop {
  return { key, reason, value: typeof value === 'string' ? printable(value, 32) : undefined, traceId: undefined, requestId: undefined };
}
