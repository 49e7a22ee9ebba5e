import type { RequestContext } from '@ctxkit/core';
import { type CarrierGetter, injectContext, recordCarrier } from '@ctxkit/core/adapter';

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
 * Reads context keys from a task's carrier: one static object, the carrier passed to each call.
 * Only own properties are read; non-strings are handed on wrapped, for the extractor to drop as
 * "not a string".
 */
export const taskCarrierGetter: CarrierGetter<Readonly<Record<string, unknown>> | undefined> = {
  get(carrier, key) {
    if (carrier === undefined || !Object.hasOwn(carrier, key)) return undefined;
    const value = carrier[key];
    return typeof value === 'string' ? value : [value];
  },
};

/** The carrier of `ctx`: its propagated keys and the budget it has left. @internal */
export function carrierOf(ctx: RequestContext, now: number): Record<string, string> {
  const out: Record<string, string> = {};
  injectContext(ctx, recordCarrier, out, undefined, ctx.deadline === undefined ? undefined : ctx.deadline - now);
  return out;
}
