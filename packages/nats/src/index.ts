/**
 * @ctxkit/nats — NATS publish, subscribe, request-reply and JetStream consumers that carry the
 * ctxkit context (ids, declared keys, W3C trace context) in message headers; requests also carry
 * the caller's remaining budget and cancellation.
 * @packageDocumentation
 */

export { publish, request, contextHeaders, CANCEL_HEADER } from './publish.js';
export type { PublishOptions, RequestOptions } from './publish.js';
export { subscribe, messageHandler, jetstreamHandler } from './consume.js';
export type { ConsumerOptions, SubscribeOptions, MessageRunner } from './consume.js';

// For adapter authors.
export { natsHeadersGetter, natsHeadersSetter } from './headers.js';
