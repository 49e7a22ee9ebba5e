/**
 * @ctxkit/bullmq — BullMQ jobs that carry the ctxkit context (ids, user, declared keys, W3C trace
 * context) from the code that enqueued them to the worker that runs them, on every attempt.
 * @packageDocumentation
 */

export { enqueue } from './enqueue.js';
export type { EnqueueOptions } from './enqueue.js';
export { contextProcessor } from './processor.js';
export type { ProcessorOptions, JobProcessor } from './processor.js';
export { CARRIER_FIELD } from './job-carrier.js';
export type { JobCarrier } from './job-carrier.js';

// For adapter authors.
export { jobCarrierGetter } from './job-carrier.js';
