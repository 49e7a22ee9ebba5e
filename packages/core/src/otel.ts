/**
 * @ctxkit/core/otel — the OpenTelemetry bridge. Import it only where `@opentelemetry/api` is
 * installed (an optional peer dependency); the rest of ctxkit never loads it.
 * @packageDocumentation
 */
import {
  type Context as OtelContext,
  isSpanContextValid,
  type Span,
  SpanKind,
  type TextMapGetter,
  type TextMapPropagator,
  type TextMapSetter,
  TraceFlags,
  trace,
} from '@opentelemetry/api';
import type { RequestContext } from './context.js';
import { encodeBaggageValue } from './baggage.js';
import { newSpanId } from './ids.js';
import { normalizeKey, type ContextKey } from './schema.js';
import { als, slot, type TracingBridge } from './storage.js';
import { isW3CTraceId } from './traceparent.js';

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
 * active span; an incoming legacy id that is not W3C is kept as ctxkit's id and recorded on the
 * span as `ctxkit.trace_id`. Call once at start-up, after the SDK is set up.
 *
 * @returns a function that turns the bridge off again.
 * @example
 * const sdk = new NodeSDK({ textMapPropagator: new CompositePropagator({
 *   propagators: [new W3CTraceContextPropagator(), ctxkitPropagator()] }), ... });
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

/** Options of {@link ctxkitPropagator}. */
export interface PropagatorOptions {
  /**
   * Declared keys whose values the propagator writes into the outgoing `baggage` header, for
   * OpenTelemetry-instrumented services that read baggage. Default none. Incoming baggage is
   * never read by this propagator (ctxkit's own keys travel as their own headers).
   */
  readonly baggageKeys?: readonly (string | ContextKey)[];
}

const LEGACY_HEADERS = ['trace-id', 'x-request-id'] as const;

/**
 * An OpenTelemetry propagator for the SDK's composite propagator, after the W3C trace-context
 * one: when a request carries no valid `traceparent` but a 32-hex legacy `trace-id` or
 * `x-request-id`, the SDK joins that trace instead of starting an unrelated one (the caller's
 * span id is unknown, so the remote parent gets a fresh one). When the request carries no id at
 * all but a ctxkit context is already current (gRPC servers), the span joins that context's
 * trace.
 */
export function ctxkitPropagator(options: PropagatorOptions = {}): TextMapPropagator {
  const baggageKeys = (options.baggageKeys ?? []).map((k) => (typeof k === 'string' ? normalizeKey(k) : k.name));
  return {
    extract(context: OtelContext, carrier: unknown, getter: TextMapGetter): OtelContext {
      const existing = trace.getSpanContext(context);
      if (existing !== undefined && isSpanContextValid(existing)) return context;
      for (const header of LEGACY_HEADERS) {
        const raw = getter.get(carrier, header);
        const id = Array.isArray(raw) ? (raw.length === 1 ? raw[0] : undefined) : raw;
        if (typeof id === 'string' && isW3CTraceId(id)) {
          return trace.setSpanContext(context, {
            traceId: id,
            spanId: newSpanId(),
            traceFlags: TraceFlags.SAMPLED,
            isRemote: true,
          });
        }
        if (id !== undefined) return context;
      }
      // Nothing on the wire, but a ctxkit context is already current (a gRPC server's, built
      // before the instrumentation extracts): the span joins its trace rather than start another.
      const ctx = als.getStore();
      if (ctx !== undefined && isW3CTraceId(ctx.traceId)) {
        return trace.setSpanContext(context, { traceId: ctx.traceId, spanId: newSpanId(), traceFlags: TraceFlags.SAMPLED, isRemote: true });
      }
      return context;
    },
    inject(_context: OtelContext, carrier: unknown, setter: TextMapSetter): void {
      if (baggageKeys.length === 0) return;
      const ctx = als.getStore();
      if (ctx === undefined) return;
      let baggage = '';
      for (const key of baggageKeys) {
        const value = ctx.metadata.get(key);
        if (value !== undefined) baggage += `${baggage === '' ? '' : ','}${key}=${encodeBaggageValue(value)}`;
      }
      if (baggage !== '') setter.set(carrier, 'baggage', baggage);
    },
    fields(): string[] {
      return baggageKeys.length === 0 ? [...LEGACY_HEADERS] : [...LEGACY_HEADERS, 'baggage'];
    },
  };
}
