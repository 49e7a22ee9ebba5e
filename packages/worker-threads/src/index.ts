/**
 * @ctxkit/worker — tasks posted to `node:worker_threads` run in the caller's ctxkit context: its
 * ids and keys, its deadline, and its cancellation (a caller that gives up aborts the task).
 * @packageDocumentation
 */

export { createTaskClient } from './client.js';
export type { TaskClient, TaskClientOptions, RunOptions } from './client.js';
export { serveTasks } from './serve.js';
export type { ServeOptions, StopServing } from './serve.js';

// For adapter authors.
export { taskCarrierGetter, TASK_MARK } from './protocol.js';
