/**
 * @ctxkit/core/fetch — outgoing HTTP that carries the current context: a `fetch` (the global one
 * or any other) and an undici dispatcher interceptor. Both send the ids, the remaining budget and
 * the trace, fail fast when the budget is spent and abort when the context is cancelled.
 * @packageDocumentation
 */

export { createFetch, ctxFetch } from './fetch.js';
export type { CtxFetch, CtxFetchInit, FetchOptions } from './fetch.js';
export { undiciInterceptor } from './undici-interceptor.js';
export type { DispatchInterceptorLike, DispatchLike, DispatchHandlerLike, DispatchControllerLike } from './undici-interceptor.js';
export type { OutgoingOptions, HttpRetryOptions } from './outgoing.js';
export type { MissingContextMode } from './lost-context.js';
