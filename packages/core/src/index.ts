/**
 * @ctxkit/core — one request's context (ids, deadline, cancellation, propagated values) held in
 * one AsyncLocalStorage per process and carried by every ctxkit adapter.
 * @packageDocumentation
 */

// The current request's context.
export { currentContext, tryCurrentContext, runWithContext, bindContext } from './current.js';
export type { RequestContext, OwnedContext, ContextInit } from './context.js';

// New contexts and children (Go's context.With*).
export { createContext, withTimeout, withDeadline, withCancel, withValues, withValue } from './derive.js';
export { detach } from './detach.js';

// Propagated keys.
export { defineKey } from './schema.js';
export type { ContextKey, ContextValues, KeyOptions } from './schema.js';
export type { TrustOption, TrustRule } from './trust.js';
export type { Drop, DropHandler } from './drops.js';

// Errors, and the gRPC status each one means.
export { CtxkitError, DeadlineExceededError, CancelledError, ShutdownError, NoContextError, InvalidMetadataError } from './errors.js';
export type { CtxkitErrorCode } from './errors.js';
export { Status, toHttpStatus } from './status.js';
export type { StatusCode, StatusName } from './status.js';

// Logs.
export { logFields, createLogFields, pinoMixin } from './log.js';
export type { LogFields, LogFieldNames } from './log.js';

// Options every outgoing transport shares. Outgoing HTTP (fetch, undici) is `@ctxkit/core/fetch`;
// what was dropped, and calls made outside a context, are `@ctxkit/core/diagnostics`.
export type { OutgoingOptions } from './outgoing.js';
export type { RetryOptions } from './retry.js';

// Shutdown as cancellation: drain a server's live contexts, then cancel what remains.
export { LiveContexts } from './live-contexts.js';
export type { DrainOptions, DrainReport } from './live-contexts.js';
export type { MissingContextMode } from './lost-context.js';
