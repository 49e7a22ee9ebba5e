/**
 * @ctxkit/core/adapter — the pieces adapters are made of, written once here and reused by every
 * adapter: carrier accessors, extraction and injection, the Node HTTP lifecycle, the outgoing-call
 * lifecycle and error mapping. Application code does not need these.
 *
 * @experimental Shapes may change in a minor version while more transports are added.
 * @packageDocumentation
 */

// Carriers: one static accessor per transport; a new transport writes its own pair.
export { recordGetter, recordSetter } from './carrier.js';
export type { CarrierGetter, CarrierSetter } from './carrier.js';

// Incoming: a context from a carrier. Outgoing: a context into a carrier.
export { compileExtractor } from './extract.js';
export type { ExtractOptions, ExtractSource, Extractor } from './extract.js';
export { injectContext } from './inject.js';
// Tracing with the OpenTelemetry bridge on, for transports no instrumentation sees (messages, jobs).
export { runConsumerTrace, startCallTrace } from './call-trace.js';
export type { CallSpan, IncomingMessageInfo, OutgoingCallInfo, TraceSink } from './call-trace.js';

// Node HTTP servers (Fastify, Express): extraction, echoed ids, disconnects, release.
export { compileHttpContext, echoedIds, httpContextOf } from './http.js';
// An edge's answer at a context's abort (the 504), without a listener or a signal per request.
export { onContextAbort } from './context.js';
export type { HttpContextHooks, HttpContextOptions, HttpContextStarter } from './http.js';
export { resolveUser } from './resolve-user.js';
export type { UserResolver } from './resolve-user.js';

// Outgoing calls (gRPC client, fetch, undici): deadline, fail-fast, cancellation, release.
export { OutgoingCall, callDeadline, abortStatus } from './outgoing-call.js';
// Retries inside the budget, and the guard against retries multiplying across hops.
export { compileRetry, RetryRun, retriesSpent, parsePushback, GRPC_ATTEMPT_KEY, GRPC_PUSHBACK_KEY } from './retry.js';
export type { RetryPolicy } from './retry.js';
export { MAX_GRPC_TIMEOUT_MS } from './deadline.js';
// Admission by budget: a route's least time needed, checked before its handler runs.
export { compileAdmission } from './admission.js';
export type { Admission } from './admission.js';

// Errors on the wire, and calls made outside any context.
export { errorResponse, followsAbort, isStatusError } from './http-errors.js';
export type { ErrorBody, ErrorResponse } from './http-errors.js';
export { statusName } from './status.js';
export { reportLostContext } from './lost-context.js';
export { resolveLogFieldNames } from './log.js';
