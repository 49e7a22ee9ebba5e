/**
 * @ctxkit/core/adapter — the pieces adapters are made of, written once here and reused by every
 * adapter; application code does not need these. One handle per concept:
 *
 * - carriers and the context in and out of them: {@link recordCarrier}, {@link compileExtractor},
 *   {@link injectContext};
 * - tracing for transports no instrumentation sees (messages, jobs): {@link startCallTrace},
 *   {@link runConsumerTrace};
 * - Node HTTP servers: {@link compileHttpContext} (the starter holds the joined context, echoed
 *   ids, log field names, the abort hook and `resolveUser`);
 * - outgoing calls: {@link OutgoingCall} (deadline, fail-fast, cancellation, abort status),
 *   {@link RetryPolicy} (retries inside the budget, their wire keys, the cross-hop guard);
 * - admission by budget: {@link compileAdmission};
 * - errors and lost contexts: {@link errorResponse}, {@link isStatusError}, {@link reportLostContext}.
 *
 * @experimental Shapes may change in a minor version while more transports are added.
 * @packageDocumentation
 */

// Carriers: one static accessor per transport; a new transport writes its own.
export { recordCarrier } from './carrier.js';
export type { CarrierGetter, CarrierSetter } from './carrier.js';

// Incoming: a context from a carrier. Outgoing: a context into a carrier.
export { compileExtractor } from './extract.js';
export type { ExtractOptions, ExtractSource, Extractor } from './extract.js';
export { injectContext } from './inject.js';
// Tracing with the OpenTelemetry bridge on, for transports no instrumentation sees (messages, jobs).
export { runConsumerTrace, startCallTrace } from './call-trace.js';
export type { CallSpan, IncomingMessageInfo, OutgoingCallInfo, TraceSink } from './call-trace.js';

// Node HTTP servers (Fastify, Express): extraction, echoed ids, disconnects, the 504, the user, release.
export { compileHttpContext } from './http.js';
export type { HttpContextHooks, HttpContextOptions, HttpContextStarter } from './http.js';
export type { UserResolver } from './resolve-user.js';

// Outgoing calls (gRPC client, fetch, undici): deadline, fail-fast, cancellation, release.
export { OutgoingCall } from './outgoing-call.js';
export type { CallTransport } from './outgoing-call.js';
// Retries inside the budget, and the guard against retries multiplying across hops.
export { RetryPolicy } from './retry.js';
export type { RetryKeys, RetryRun } from './retry.js';
// Admission by budget: a route's least time needed, checked before its handler runs.
export { compileAdmission } from './admission.js';
export type { Admission } from './admission.js';

// Errors on the wire, and calls made outside any context.
export { errorResponse, isStatusError } from './http-errors.js';
export type { ErrorBody, ErrorResponse } from './http-errors.js';
export { reportLostContext } from './lost-context.js';
