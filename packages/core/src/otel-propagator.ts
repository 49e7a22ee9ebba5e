/**
 * ctxkit's OpenTelemetry propagator: W3C Trace Context at level 2 with core's own codecs (the
 * random flag, level-2 tracestate), legacy ids joining a trace without forcing it sampled, and
 * chosen keys as outgoing baggage.
 */
import {
  type Context as OtelContext,
  isSpanContextValid,
  type SpanContext,
  type TextMapGetter,
  type TextMapPropagator,
  type TextMapSetter,
  type TraceState,
  TraceFlags,
  trace,
} from '@opentelemetry/api';
import { encodeBaggageValue } from './baggage.js';
import { newSpanId } from './ids.js';
import { normalizeKey, type ContextKey } from './schema.js';
import { als } from './storage.js';
import { isW3CTraceId, parseTraceparent } from './traceparent.js';
import { parseTracestate } from './tracestate.js';

/** Options of {@link ctxkitPropagator}. */
export interface PropagatorOptions {
  /**
   * Declared keys whose values the propagator writes into the outgoing `baggage` header, for
   * OpenTelemetry-instrumented services that read baggage. Default none. Incoming baggage is
   * never read by this propagator (ctxkit's own keys travel as their own headers).
   */
  readonly baggageKeys?: readonly (string | ContextKey)[];
}

const TRACEPARENT = 'traceparent';
const TRACESTATE = 'tracestate';
const LEGACY_HEADERS = ['trace-id', 'x-request-id'] as const;
/** The flags this version of the spec defines: sampled and random; others go out as 0. */
const KNOWN_FLAGS = 0x03;
const RANDOM = 0x02;

/**
 * An OpenTelemetry propagator that replaces the SDK's W3C trace-context one
 * (`textMapPropagator: ctxkitPropagator()`):
 * - W3C Trace Context level 2, parsed by core's codecs: the `random` flag is kept on every
 *   outgoing `traceparent` of a trace that came with it (the SDK's child spans carry only the
 *   sampled bit), and `tracestate` follows level 2 (multi-tenant and 256-character keys,
 *   duplicates, the 32-member and 512-character limits), where the SDK's drops or keeps
 *   entries the W3C test suite expects otherwise.
 * - A request with no valid `traceparent` but a 32-hex legacy `trace-id` or `x-request-id`
 *   joins that trace, not sampled: the caller's sampling decision is unknown, and a public
 *   header must not be able to force one (the sampler's rule for unsampled remote parents
 *   decides). The caller's span id is unknown too: the remote parent gets a fresh one.
 * - A request with no id at all, under a ctxkit context already current (gRPC servers build it
 *   before the instrumentation extracts), joins that context's trace.
 * - `baggageKeys` are written as outgoing W3C baggage; incoming baggage is never read.
 */
export function ctxkitPropagator(options: PropagatorOptions = {}): TextMapPropagator {
  const baggageKeys = (options.baggageKeys ?? []).map((k) => (typeof k === 'string' ? normalizeKey(k) : k.name));
  const fields = baggageKeys.length === 0 ? [TRACEPARENT, TRACESTATE] : [TRACEPARENT, TRACESTATE, 'baggage'];
  return {
    extract(context: OtelContext, carrier: unknown, getter: TextMapGetter): OtelContext {
      const tp = parseTraceparent(single(getter.get(carrier, TRACEPARENT)));
      if (tp !== undefined) {
        const raw = getter.get(carrier, TRACESTATE);
        const state = raw === undefined ? undefined : parseTracestate(raw);
        return trace.setSpanContext(context, {
          traceId: tp.traceId,
          spanId: tp.parentId,
          traceFlags: tp.flags & KNOWN_FLAGS,
          isRemote: true,
          // Always ctxkit's: the SDK copies a parent's trace state to its children, so the
          // random flag received rides along with it to every outgoing call of the trace.
          traceState: new WireTraceState(state ?? '', (tp.flags & RANDOM) !== 0 ? tp.traceId : undefined),
        });
      }
      const existing = trace.getSpanContext(context);
      if (existing !== undefined && isSpanContextValid(existing)) return context;
      for (const header of LEGACY_HEADERS) {
        const id = single(getter.get(carrier, header));
        if (id !== undefined && isW3CTraceId(id)) return joined(context, id);
        if (id !== undefined) return context;
      }
      // Nothing on the wire, but a ctxkit context is already current (a gRPC server's, built
      // before the instrumentation extracts): the span joins its trace rather than start another.
      // No caller sent that id (ctxkit chose it), so the parent is marked sampled as a root
      // span would be: no header can reach this branch.
      const ctx = als.getStore();
      if (ctx !== undefined && isW3CTraceId(ctx.traceId)) {
        return trace.setSpanContext(context, { traceId: ctx.traceId, spanId: newSpanId(), traceFlags: TraceFlags.SAMPLED, isRemote: true });
      }
      return context;
    },
    inject(context: OtelContext, carrier: unknown, setter: TextMapSetter): void {
      const sc = trace.getSpanContext(context);
      if (sc !== undefined && isSpanContextValid(sc)) {
        setter.set(carrier, TRACEPARENT, formatSpanContext(sc));
        const state = sc.traceState?.serialize();
        if (state !== undefined && state !== '') setter.set(carrier, TRACESTATE, state);
      }
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
      // What inject writes: undici's instrumentation removes these names before writing its own.
      return [...fields];
    },
  };
}

/** A legacy 32-hex id as a remote parent: joined, never sampled by the header alone. */
function joined(context: OtelContext, traceId: string): OtelContext {
  return trace.setSpanContext(context, { traceId, spanId: newSpanId(), traceFlags: TraceFlags.NONE, isRemote: true });
}

/** One string from a getter's answer; several values (a duplicated header) are ambiguous. */
function single(raw: string | string[] | undefined): string | undefined {
  if (raw === undefined || typeof raw === 'string') return raw;
  return raw.length === 1 ? raw[0] : undefined;
}

/** A version-00 `traceparent` for a span context, with the random flag its trace came with. */
export function formatSpanContext(sc: SpanContext): string {
  let flags = sc.traceFlags & KNOWN_FLAGS;
  const state = sc.traceState;
  if (state instanceof WireTraceState && state.randomTraceId === sc.traceId) flags |= RANDOM;
  return `00-${sc.traceId}-${sc.spanId}-0${flags.toString(16)}`;
}

const MEMBER_KEY = /^[^=]*/;

/**
 * A `tracestate` as received, validated by core's level-2 rules and kept as its wire value, so
 * that forwarding never re-validates it by other rules. Mutations (a vendor's own entry) return
 * a new state with the entry moved to the left, as the spec asks.
 */
class WireTraceState implements TraceState {
  readonly #value: string;
  /** The trace id whose received traceparent had the random flag, if it had. */
  readonly randomTraceId: string | undefined;

  constructor(value: string, randomTraceId: string | undefined) {
    this.#value = value;
    this.randomTraceId = randomTraceId;
  }

  #members(): string[] {
    return this.#value === '' ? [] : this.#value.split(',');
  }

  get(key: string): string | undefined {
    const member = this.#members().find((m) => MEMBER_KEY.exec(m)![0] === key);
    return member?.slice(key.length + 1);
  }

  set(key: string, value: string): TraceState {
    const rest = this.#members().filter((m) => MEMBER_KEY.exec(m)![0] !== key);
    const next = parseTracestate([`${key}=${value}`, ...rest].slice(0, 32));
    return new WireTraceState(next ?? this.#value, this.randomTraceId);
  }

  unset(key: string): TraceState {
    const rest = this.#members().filter((m) => MEMBER_KEY.exec(m)![0] !== key);
    return new WireTraceState(rest.join(','), this.randomTraceId);
  }

  serialize(): string {
    return this.#value;
  }
}
