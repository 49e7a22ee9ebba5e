/**
 * @ctxkit/core/otel — the OpenTelemetry bridge. Import it only where `@opentelemetry/api` is
 * installed (an optional peer dependency); the rest of ctxkit never loads it.
 * @packageDocumentation
 */
import { type Context as OtelContext, isSpanContextValid, type Span, SpanKind, trace } from '@opentelemetry/api';
import type { RequestContext } from './context.js';
import { startCallSpan } from './otel-calls.js';
import { runConsumerSpan } from './otel-consume.js';
import { normalizeKey, type ContextKey } from './schema.js';
import { als, slot, type TracingBridge } from './storage.js';

/** Options of {@link enableOpenTelemetry}. */
export interface OpenTelemetryOptions {
  /** Span attribute for the user id; `false` records none. Default `'enduser.id'`. */
  readonly userIdAttribute?: string | false;
  /** Declared keys to record as span attributes, named `ctxkit.<key>`. Default none. */
  readonly attributeKeys?: readonly (string | ContextKey)[];
}

/**
 * Makes ctxkit and OpenTelemetry agree: a new chain takes the active span's trace id, so logs,
 * reply headers and spans carry one id; the user id (and the keys named) are recorded on the
 * active span, and a legacy id received beside the W3C one as `ctxkit.legacy_trace_id`; every
 * call made through `ctxFetch`, the undici interceptor and the gRPC client interceptor gets a
 * client span whose context it carries, unless the transport's own instrumentation (undici's,
 * grpc-js's) makes one (then that one's context goes, once). Call once at start-up, after the
 * SDK is set up.
 *
 * @returns a function that turns the bridge off again.
 * @example
 * const sdk = new NodeSDK({ textMapPropagator: ctxkitPropagator(), ... });
 * sdk.start();
 * enableOpenTelemetry();
 */
export function enableOpenTelemetry(options: OpenTelemetryOptions = {}): () => void {
  const annotate = compileAnnotate(options);
  const bridge: TracingBridge = {
    activeTraceId() {
      const span = trace.getActiveSpan();
      if (span === undefined) return undefined;
      const sc = span.spanContext();
      return isSpanContextValid(sc) ? sc.traceId : undefined;
    },
    annotate(ctx: RequestContext) {
      const span = trace.getActiveSpan();
      if (span?.isRecording()) annotate(span, ctx);
    },
    startCall: startCallSpan,
    runConsumer: runConsumerSpan,
  };
  slot.bridge = bridge;
  return () => {
    if (slot.bridge === bridge) slot.bridge = undefined;
  };
}

/** Records a context's ids on a span, as the options say. */
function compileAnnotate(options: OpenTelemetryOptions): (span: Span, ctx: RequestContext) => void {
  const userAttr = options.userIdAttribute === undefined ? 'enduser.id' : options.userIdAttribute;
  const keys = (options.attributeKeys ?? []).map((k) => (typeof k === 'string' ? normalizeKey(k) : k.name));
  return (span, ctx) => {
    if (span.spanContext().traceId !== ctx.traceId) span.setAttribute('ctxkit.trace_id', ctx.traceId);
    const legacy = ctx.legacyTraceId;
    if (legacy !== undefined) span.setAttribute('ctxkit.legacy_trace_id', legacy);
    if (userAttr !== false && ctx.userId !== undefined) span.setAttribute(userAttr, ctx.userId);
    for (const key of keys) {
      const value = ctx.metadata.get(key);
      if (value !== undefined) span.setAttribute(`ctxkit.${key}`, value);
    }
  };
}

/** The part of an SDK span processor ctxkit implements (structural: no SDK import needed). */
export interface SpanProcessorLike {
  onStart(span: Span, parentContext: OtelContext): void;
  onEnd(span: unknown): void;
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
}

/**
 * A span processor for the SDK (`spanProcessors: [ctxkitSpanProcessor(), …]`) that records the
 * ids of the current ctxkit context on every server span as it starts. Needed where the context
 * exists before the span: gRPC servers, whose ctxkit context is built before the grpc
 * instrumentation starts the call's span. Takes the options of {@link enableOpenTelemetry}.
 */
export function ctxkitSpanProcessor(options: OpenTelemetryOptions = {}): SpanProcessorLike {
  const annotate = compileAnnotate(options);
  return {
    onStart(span) {
      if ((span as Span & { kind?: SpanKind }).kind !== SpanKind.SERVER) return;
      const ctx = als.getStore();
      if (ctx !== undefined && span.isRecording()) annotate(span, ctx);
    },
    onEnd() {},
    forceFlush: () => Promise.resolve(),
    shutdown: () => Promise.resolve(),
  };
}

export { ctxkitPropagator } from './otel-propagator.js';
export type { PropagatorOptions } from './otel-propagator.js';
