import type { Job, JobsOptions, Queue } from 'bullmq';
import { type MissingContextMode, tryCurrentContext } from '@ctxkit/core';
import { reportLostContext } from '@ctxkit/core/adapter';
import { CARRIER_FIELD, carrierOf } from './job-carrier.js';

/** Options of {@link enqueue}: BullMQ's job options and what of the context goes with the job. */
export interface EnqueueOptions extends JobsOptions {
  /** Limits which propagated keys go with the job. Default: all of them. */
  readonly allow?: ((key: string) => boolean) | undefined;
  /**
   * An enqueue outside any request context, or under one that has already ended (a callback kept
   * from a finished request): `'throw'`, `'warn'` (default, once per call site) or `'ignore'`.
   */
  readonly missingContext?: MissingContextMode | undefined;
}

/**
 * Adds a job that carries the current context: its ids, user and propagated keys go in the
 * job's data under {@link CARRIER_FIELD}, and the worker runs the job (and every retry of it) in
 * them. A job outlives the request that enqueued it: no deadline or cancellation goes with it.
 *
 * @throws TypeError when `data` is not a plain object (the context needs a field in it).
 * @throws `NoContextError` (from `@ctxkit/core`) outside any context when `missingContext` is `'throw'`.
 * @example
 * await enqueue(compensations, 'refund', { orderId });
 */
export function enqueue<T extends object, R = unknown, N extends string = string>(
  queue: Queue<T, R, N>,
  name: N,
  data: T,
  options: EnqueueOptions = {},
): Promise<Job<T, R, N>> {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new TypeError(`ctxkit: job data must be a plain object to carry the context, got ${typeof data === 'string' ? 'a string' : Array.isArray(data) ? 'an array' : String(data)}`);
  }
  const { allow, missingContext, ...jobOptions } = options;
  const ctx = tryCurrentContext();
  reportLostContext(missingContext ?? 'warn', `BullMQ enqueue of ${name} to ${queue.name}`, ctx);
  if (ctx === undefined) {
    return queue.add(name as never, data as never, jobOptions) as Promise<Job<T, R, N>>;
  }
  const { carrier, span } = carrierOf(ctx, allow, queue.name);
  const carried = { ...data, [CARRIER_FIELD]: carrier };
  const added = queue.add(name as never, carried as never, jobOptions) as Promise<Job<T, R, N>>;
  if (span === undefined) return added;
  return added.then(
    (job) => {
      span.end(undefined, undefined);
      return job;
    },
    (error: unknown) => {
      span.end(undefined, error);
      throw error;
    },
  );
}
