/**
 * The trace context of one outgoing call with a tracer on (the OpenTelemetry bridge): the
 * tracer's client span, written once whether or not the transport is instrumented too.
 * Without a tracer, {@link injectContext} writes the `traceparent` itself.
 */
import { startedTraceparent } from './inject.js';
import type { RequestContext } from './context.js';
import { type CallSpan, type IncomingMessageInfo, type OutgoingCallInfo, slot, type TraceSink } from './storage.js';

const TRACEPARENT = 'traceparent';

/**
 * With a tracing bridge on, starts the span of one outgoing call and writes its trace context
 * into `sink`; when the tracer wrote no `traceparent` (no SDK set up), one ctxkit starts. Does
 * nothing without a bridge, when `allow` keeps `traceparent` from this target, or when the
 * transport's own instrumentation writes it (undici's, grpc-js's).
 *
 * @returns the span, which the caller ends when the call is over; `undefined` when none started.
 */
export function startCallTrace(
  ctx: RequestContext | undefined,
  info: OutgoingCallInfo,
  sink: TraceSink,
  allow?: (key: string) => boolean,
): CallSpan | undefined {
  const bridge = slot.bridge;
  if (bridge === undefined || (allow !== undefined && !allow(TRACEPARENT))) return undefined;
  const span = bridge.startCall(info, sink);
  if (span === false) return undefined;
  if (ctx !== undefined && !sink.has(TRACEPARENT)) {
    const started = startedTraceparent(ctx);
    if (started !== undefined) sink.set(TRACEPARENT, started);
  }
  return span;
}

/**
 * Runs the processing of one message or job (`fn`, already under `ctx`) in the tracer's consumer
 * span, a child of the trace context `ctx` received, when a tracing bridge is on; else just runs it.
 */
export function runConsumerTrace<R>(info: IncomingMessageInfo, ctx: RequestContext, fn: () => R): R {
  const run = slot.bridge?.runConsumer;
  return run === undefined ? fn() : run(info, ctx, fn);
}

export type { CallSpan, IncomingMessageInfo, OutgoingCallInfo, TraceSink };
