/**
 * @ctxkit/core — one request's context (ids, deadline, cancellation, propagated values) held in
 * one AsyncLocalStorage per process and carried by every ctxkit adapter.
 * @packageDocumentation
 */

export { currentContext, tryCurrentContext, runWithContext, bindContext } from './current.js';
export { createContext, withTimeout, withDeadline, withValues, withValue, withCancel } from './derive.js';
export type { RequestContext, OwnedContext, ContextInit } from './context.js';
export type { ContextValues } from './schema.js';

export { defineKey, normalizeKey, traceIdKey, requestIdKey, userIdKey } from './schema.js';
export type { ContextKey, KeyOptions } from './schema.js';

export {
  CtxkitError,
  DeadlineExceededError,
  CancelledError,
  NoContextError,
  InvalidMetadataError,
} from './errors.js';
export type { CtxkitErrorCode } from './errors.js';

export { Status, toHttpStatus } from './status.js';
export type { StatusCode, StatusName } from './status.js';

export { logFields, createLogFields, pinoMixin } from './log.js';
export type { LogFields, LogFieldNames } from './log.js';

export { droppedValues } from './drops.js';
export type { Drop, DropHandler } from './drops.js';

export type { TrustOption, TrustRule } from './trust.js';
export type { MissingContextMode } from './lost-context.js';

export { DROP_CHANNEL, MISSING_CONTEXT_CHANNEL } from './diagnostics.js';
export type { DropMessage, MissingContextMessage } from './diagnostics.js';

export { createFetch, ctxFetch } from './fetch.js';
export type { CtxFetch, CtxFetchInit, FetchOptions } from './fetch.js';
export { ctxkitInterceptor } from './undici-interceptor.js';
export type { DispatchInterceptorLike, DispatchLike, DispatchHandlerLike, DispatchControllerLike } from './undici-interceptor.js';
export type { OutgoingOptions } from './outgoing.js';
