import type { Job } from 'bullmq';
import { type DropHandler, runWithContext, type TrustOption } from '@ctxkit/core';
import { compileExtractor, runConsumerTrace } from '@ctxkit/core/adapter';
import { CARRIER_FIELD, carrierIn, jobCarrierGetter } from './job-carrier.js';

/** How a worker builds each job's context; resolved once per worker. */
export interface ProcessorOptions {
  /**
   * Which keys this queue's worker honours from producers, declared per queue: `'internal'`
   * (every declared key, `user-id` included: only your services enqueue), `'edge'` (trace ids
   * only), or a rule naming keys. Required: what a queue's producers may claim is a decision.
   */
  readonly trust: TrustOption;
  /** Receives every dropped value of a job's carrier with the ids of its context. Default: core's counter. */
  readonly onDrop?: DropHandler<Job> | undefined;
}

/** A BullMQ processor (`new Worker(name, processor)`). */
export type JobProcessor<T, R> = (job: Job<T, R>, token?: string, signal?: AbortSignal) => Promise<R>;

/**
 * Wraps a BullMQ processor so that each job runs in the context it was enqueued with
 * ({@link enqueue}): the same trace, request and user ids and the keys `trust` allows, on every
 * attempt. The job runs detached (no deadline); BullMQ's own cancellation of the job
 * (`worker.cancelJob`) cancels its context. Invalid carried values are dropped with a reason.
 *
 * @example
 * new Worker('compensations', contextProcessor(async (job) => refund(job.data.orderId), { trust: 'internal' }), { connection });
 */
export function contextProcessor<T, R>(processor: JobProcessor<T, R>, options: ProcessorOptions): JobProcessor<T, R> {
  const extract = compileExtractor<Job>({ trust: options.trust, timeoutHeader: false, onDrop: options.onDrop });
  return async function processInContext(job, token, signal) {
    const found = carrierIn(job.data);
    const carrier = found !== undefined && 'malformed' in found ? undefined : (found as Readonly<Record<string, unknown>> | undefined);
    const refused = carrier !== found ? { key: CARRIER_FIELD, reason: `job context ${(found as { malformed: string }).malformed}` } : undefined;
    const ctx = extract(jobCarrierGetter, carrier, { origin: job as Job, refused });
    const onAbort = signal === undefined ? undefined : () => ctx.cancel();
    if (onAbort !== undefined) {
      if (signal!.aborted) onAbort();
      else signal!.addEventListener('abort', onAbort, { once: true });
    }
    try {
      return await runConsumerTrace({ system: 'bullmq', destination: job.queueName }, ctx, () => runWithContext(ctx, processor, job, token, signal));
    } finally {
      if (onAbort !== undefined) signal!.removeEventListener('abort', onAbort);
      ctx.end();
    }
  };
}
