/**
 * @ctxkit/core/diagnostics — what ctxkit refused and where context was lost: the values dropped
 * from one context, the requests refused for lack of time before their handler ran, and the
 * `diagnostics_channel` names APM tools and tests subscribe to.
 * @packageDocumentation
 */

export { droppedValues } from './drops.js';
export type { Drop, DropHandler } from './drops.js';
export { refusedRequests } from './admission.js';
export { DROP_CHANNEL, MISSING_CONTEXT_CHANNEL, REFUSED_CHANNEL } from './diagnostics.js';
export type { DropMessage, MissingContextMessage, RefusedMessage } from './diagnostics.js';
export type { MissingContextMode } from './lost-context.js';
