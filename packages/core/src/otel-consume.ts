/**
 * Consumer spans for messages and jobs with the OpenTelemetry bridge on. No OpenTelemetry
 * instrumentation sees ctxkit's NATS subscriptions or BullMQ workers, so without this a handler's
 * calls would start spans under no parent: a new trace, while the context's `trace-id` says
 * another. The span's parent is the trace context the context received (already through trust
 * and validation), never the raw headers.
 */
import { context, propagation, ROOT_CONTEXT, type Span, SpanKind, SpanStatusCode, type TextMapGetter, trace, TraceFlags } from '@opentelemetry/api';
import type { RequestContext } from './context.js';
import { newSpanId } from './ids.js';
import { tracer } from './otel-calls.js';
import type { IncomingMessageInfo } from './storage.js';

const metadataGetter: TextMapGetter<ReadonlyMap<string, string>> = {
  get: (carrier, key) => carrier.get(key),
  keys: (carrier) => [...carrier.keys()],
};

/** Runs `fn` in a consumer span, a child of what `ctx` received; ends it when `fn` settles. */
export function runConsumerSpan<R>(info: IncomingMessageInfo, ctx: RequestContext, fn: () => R): R {
  const parent = remoteParent(ctx);
  const span = tracer().startSpan(
    `process ${info.destination}`,
    {
      kind: SpanKind.CONSUMER,
      attributes: { 'messaging.system': info.system, 'messaging.destination.name': info.destination, 'messaging.operation.type': 'process' },
    },
    parent,
  );
  let result: R;
  try {
    result = context.with(trace.setSpan(parent, span), fn);
  } catch (error) {
    end(span, error);
    throw error;
  }
  if (result instanceof Promise) {
    result.then(
      () => end(span, undefined),
      (error: unknown) => end(span, error),
    );
  } else {
    end(span, undefined);
  }
  return result;
}

/**
 * The received `traceparent` (and `tracestate`) through the global propagator. A message that came
 * with only a legacy id gets a remote parent of that trace, not sampled, so the spans keep the
 * context's trace id but a producer cannot force sampling.
 */
function remoteParent(ctx: RequestContext) {
  const extracted = propagation.extract(ROOT_CONTEXT, ctx.metadata, metadataGetter);
  const sc = trace.getSpanContext(extracted);
  if (sc !== undefined && sc.traceId === ctx.traceId) return extracted;
  return trace.setSpanContext(ROOT_CONTEXT, { traceId: ctx.traceId, spanId: newSpanId(), traceFlags: TraceFlags.NONE, isRemote: true });
}

function end(span: Span, error: unknown): void {
  if (error !== undefined) {
    span.recordException(error instanceof Error ? error : String(error));
    span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
  }
  span.end();
}
