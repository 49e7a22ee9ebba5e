/**
 * @ctxkit/core/otel — the OpenTelemetry bridge. Import it only where `@opentelemetry/api` is
 * installed (an optional peer dependency); the rest of ctxkit never loads it.
 * @packageDocumentation
 */
import {
  type Context as OtelContext,
  isSpanContextValid,
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
  const userAttr = options.userIdAttribute === undefined ? 'enduser.id' : options.userIdAttribute;
  const keys = (options.attributeKeys ?? []).map((k) => (typeof k === 'string' ? normalizeKey(k) : k.name));
  const bridge: TracingBridge = {
    activeTraceId() {
      const span = trace.getActiveSpan();
      if (span === undefined) return undefined;
      const sc = span.spanContext();
      return isSpanContextValid(sc) ? sc.traceId : undefined;
    },
    annotate(ctx: RequestContext) {
      const span = trace.getActiveSpan();
      if (span === undefined || !span.isRecording()) return;
      if (span.spanContext().traceId !== ctx.traceId) span.setAttribute('ctxkit.trace_id', ctx.traceId);
      if (userAttr !== false && ctx.userId !== undefined) span.setAttribute(userAttr, ctx.userId);
      for (const key of keys) {
        const value = ctx.metadata.get(key);
        if (value !== undefined) span.setAttribute(`ctxkit.${key}`, value);
      }
    },
  };
  slot.bridge = bridge;
  return () => {
    if (slot.bridge === bridge) slot.bridge = undefined;
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
 * span id is unknown, so the remote parent gets a fresh one).
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
