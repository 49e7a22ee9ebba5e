/**
 * Client spans for ctxkit's outgoing calls with the OpenTelemetry bridge on. OpenTelemetry's
 * http instrumentation does not see `fetch` or undici, so without undici's instrumentation no
 * one would write a `traceparent` for them; with it, that instrumentation makes the span and
 * writes the headers itself, and ctxkit must not write them a second time (older versions
 * append theirs to ours: two `traceparent` lines, which a receiver must treat as invalid).
 */
import { hasSubscribers } from 'node:diagnostics_channel';
import { context, propagation, type Span, SpanKind, SpanStatusCode, type TextMapSetter, trace } from '@opentelemetry/api';
import type { CallSpan, OutgoingCallInfo, TraceSink } from './storage.js';

/** undici publishes every request it creates here; its instrumentation (and other tracers') listen. */
const UNDICI_REQUEST_CREATE = 'undici:request:create';
const TRACEPARENT = 'traceparent';

// A header the caller set stays: the propagator's writes go only where nothing is.
const sinkSetter: TextMapSetter<TraceSink> = {
  set(sink, key, value) {
    if (!sink.has(key)) sink.set(key, value);
  },
};

/**
 * Starts the client span of one call, as a child of the active context, and writes its context
 * into `sink` through the global propagator. `false` when the transport is instrumented: for
 * HTTP, when something listens to undici's request channel; for gRPC, when grpc-js's
 * instrumentation already wrote a `traceparent` into the call's metadata (it runs first).
 */
export function startCallSpan(call: OutgoingCallInfo, sink: TraceSink): CallSpan | false {
  if (call.transport === 'http' ? hasSubscribers(UNDICI_REQUEST_CREATE) : sink.has(TRACEPARENT)) return false;
  const active = context.active();
  // A message sent and forgotten is a producer's span; a request that waits for its reply, a client's.
  const kind = call.transport === 'messaging' && call.method !== 'request' ? SpanKind.PRODUCER : SpanKind.CLIENT;
  const span = tracer().startSpan(spanName(call), { kind, attributes: attributesOf(call) }, active);
  propagation.inject(trace.setSpan(active, span), sink, sinkSetter);
  return new ClientSpan(span, call.transport);
}

/** @internal */
export function tracer() {
  return trace.getTracer('@ctxkit/core');
}

function spanName(call: OutgoingCallInfo): string {
  if (call.transport === 'messaging') return `${call.method} ${call.target}`;
  return call.transport === 'http' ? call.method : call.method.replace(/^\//, '');
}

function attributesOf(call: OutgoingCallInfo): Record<string, string> {
  if (call.transport === 'http') return { 'http.request.method': call.method, 'url.full': call.target };
  if (call.transport === 'messaging') {
    return {
      'messaging.system': call.system ?? 'unknown',
      'messaging.destination.name': call.target,
      'messaging.operation.name': call.method,
      'messaging.operation.type': 'send',
    };
  }
  const [, service = '', method = ''] = /^\/?([^/]*)\/(.*)$/.exec(call.method) ?? [];
  return { 'rpc.system': 'grpc', 'rpc.service': service, 'rpc.method': method, 'server.address': call.target };
}

/** Ends the span with the outcome, following the semantic conventions for client spans. */
class ClientSpan implements CallSpan {
  constructor(
    readonly span: Span,
    readonly transport: OutgoingCallInfo['transport'],
  ) {}

  end(status: number | undefined, error: unknown): void {
    const span = this.span;
    if (status !== undefined && this.transport !== 'messaging') {
      span.setAttribute(this.transport === 'http' ? 'http.response.status_code' : 'rpc.grpc.status_code', status);
      if (this.transport === 'http' ? status >= 400 : status !== 0) span.setStatus({ code: SpanStatusCode.ERROR });
    } else if (error !== undefined) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
    }
    span.end();
  }
}
