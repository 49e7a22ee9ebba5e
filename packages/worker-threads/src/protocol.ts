import type { RequestContext } from '@ctxkit/core';
import { type CarrierGetter, formatHttpTimeout, injectContext, TIMEOUT_HEADER } from '@ctxkit/core/adapter';

/** Marks ctxkit's task messages among whatever else a port carries. */
export const TASK_MARK = 'ctxkit.task';

/** A task posted to a worker: the caller's context (wire keys, and the budget left) and the task. @internal */
export interface TaskMessage {
  readonly [TASK_MARK]: 'run';
  readonly id: number;
  readonly carrier: Record<string, string>;
  readonly task: unknown;
}

/** The caller gave up on a task. @internal */
export interface CancelMessage {
  readonly [TASK_MARK]: 'cancel';
  readonly id: number;
  /** The caller's deadline passed (else it was cancelled). */
  readonly deadline: boolean;
}

/** A task's outcome, posted back by the worker. @internal */
export interface ResultMessage {
  readonly [TASK_MARK]: 'result';
  readonly id: number;
  readonly ok: boolean;
  readonly value?: unknown;
  readonly error?: { readonly name: string; readonly message: string; readonly code?: string | undefined };
}

/**
 * Reads and writes context keys in a task's carrier: one static object, the carrier passed to
 * each call. Only own properties are read; non-strings are handed on wrapped, for the extractor to
 * drop as "not a string".
 */
export const taskCarrierAccessor = {
  get(carrier: Readonly<Record<string, unknown>> | undefined, key: string): string | readonly unknown[] | undefined {
    if (carrier === undefined || !Object.hasOwn(carrier, key)) return undefined;
    const value = carrier[key];
    return typeof value === 'string' ? value : [value];
  },
  set(carrier: Record<string, string>, key: string, value: string): void {
    carrier[key] = value;
  },
} as const;

// The extractor and injectContext run synchronously: module-level functions reading the carrier
// of the task being started spare a closure per task, and are never re-entered.
let reading: Readonly<Record<string, unknown>> | undefined;
let writing: Record<string, string> | undefined;
const readCarrier: CarrierGetter = (key) => taskCarrierAccessor.get(reading, key);
function writeCarrier(key: string, value: string): void {
  taskCarrierAccessor.set(writing!, key, value);
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

/** The carrier of `ctx`: its propagated keys and the budget it has left. @internal */
export function carrierOf(ctx: RequestContext, now: number): Record<string, string> {
  const out: Record<string, string> = {};
  writing = out;
  try {
    injectContext(ctx, writeCarrier);
  } finally {
    writing = undefined;
  }
  if (ctx.deadline !== undefined) out[TIMEOUT_HEADER] = formatHttpTimeout(ctx.deadline - now);
  return out;
}
