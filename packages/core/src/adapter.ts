/**
 * @ctxkit/core/adapter — the pieces adapters are made of: extraction, injection, codecs,
 * deadline math and error mapping, written once here and reused by every adapter.
 * Application code rarely needs these.
 * @packageDocumentation
 */

export { nodeHeadersGetter, recordGetter, recordSetter, fetchHeadersGetter, fetchHeadersSetter } from './carrier.js';
export type { CarrierGetter, CarrierSetter } from './carrier.js';
export { compileExtractor } from './extract.js';
export type { ExtractOptions, ExtractSource, Extractor } from './extract.js';
export { injectContext } from './inject.js';

export {
  parseGrpcTimeout,
  formatGrpcTimeout,
  parseHttpTimeout,
  formatHttpTimeout,
  TIMEOUT_HEADER,
  resolveBudget,
  MAX_TIMER_MS,
  MAX_GRPC_TIMEOUT_MS,
} from './deadline.js';
export type { BudgetOptions } from './deadline.js';

export { parseTraceparent, formatTraceparent, isW3CTraceId } from './traceparent.js';
export type { TraceParent } from './traceparent.js';

export { newTraceId, newSpanId } from './ids.js';
export { errorResponse, isStatusError } from './http-errors.js';
export type { ErrorBody, ErrorResponse } from './http-errors.js';
export { statusName } from './status.js';
export { countDrop } from './drops.js';
export type { Drop, DropHandler } from './drops.js';
export { reportMissingContext, reportEndedContext, contextEnded } from './lost-context.js';
export { detachedContext } from './detach.js';
export { LIMITS, keyDefinition, valueProblem } from './schema.js';
export { printable } from './errors.js';
export { compileHttpContext, echoedIds } from './http.js';
export type { HttpContextHooks, HttpContextOptions, HttpContextStarter } from './http.js';
