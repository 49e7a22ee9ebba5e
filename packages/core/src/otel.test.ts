import {
  context,
  defaultTextMapGetter,
  defaultTextMapSetter,
  propagation,
  ROOT_CONTEXT,
  trace,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CompositePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileExtractor, recordCarrier } from './adapter.js';
import { createContext, defineKey, runWithContext } from './index.js';
import { ctxkitPropagator, enableOpenTelemetry } from './otel.js';

const exporter = new InMemorySpanExporter();
const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
const tracer = provider.getTracer('test');
const plan = defineKey('plan');
let disable: () => void;

beforeAll(() => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(provider);
  propagation.setGlobalPropagator(
    new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), ctxkitPropagator({ baggageKeys: ['user-id', plan] })] }),
  );
  disable = enableOpenTelemetry({ attributeKeys: [plan] });
});
afterAll(async () => {
  disable();
  await provider.shutdown();
  trace.disable();
  context.disable();
  propagation.disable();
});

describe('OpenTelemetry bridge', () => {
  it('a new chain takes the active span trace id, and records the user on the span', () => {
    exporter.reset();
    const extract = compileExtractor({ trust: 'edge' });
    tracer.startActiveSpan('server', (span) => {
      const ctx = extract(recordCarrier, {});
      expect(ctx.traceId).toBe(span.spanContext().traceId);
      ctx.assign({ userId: 'u-1', plan: 'pro' });
      span.end();
    });
    const [span] = exporter.getFinishedSpans();
    expect(span!.attributes).toMatchObject({ 'enduser.id': 'u-1', 'ctxkit.plan': 'pro' });
    expect(span!.attributes).not.toHaveProperty('ctxkit.trace_id');
    expect(createContext().traceId).toMatch(/^[0-9a-f]{32}$/); // no span active: a new id
  });

  it('an incoming legacy non-hex id is kept beside the span trace id and recorded on the span', () => {
    exporter.reset();
    const extract = compileExtractor({ trust: 'edge' });
    tracer.startActiveSpan('server', (span) => {
      const ctx = extract(recordCarrier, { 'x-request-id': 'legacy-42' });
      expect([ctx.traceId, ctx.legacyTraceId]).toEqual([span.spanContext().traceId, 'legacy-42']);
      span.end();
    });
    const [span] = exporter.getFinishedSpans();
    expect(span!.attributes['ctxkit.legacy_trace_id']).toBe('legacy-42');
    expect(span!.attributes).not.toHaveProperty('ctxkit.trace_id');
  });

  it('the propagator joins a 32-hex legacy trace-id when there is no traceparent', () => {
    const legacy = '4bf92f3577b34da6a3ce929d0e0e4736';
    const joined = propagation.extract(ROOT_CONTEXT, { 'trace-id': legacy }, defaultTextMapGetter);
    // Joined, never sampled by a header alone: a public client must not force sampling.
    expect(trace.getSpanContext(joined)).toMatchObject({ traceId: legacy, isRemote: true, traceFlags: 0 });
    const viaProxy = propagation.extract(ROOT_CONTEXT, { 'x-request-id': legacy }, defaultTextMapGetter);
    expect(trace.getSpanContext(viaProxy)).toMatchObject({ traceId: legacy, traceFlags: 0 });
    const tp = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const w3c = propagation.extract(ROOT_CONTEXT, { traceparent: tp, 'trace-id': legacy }, defaultTextMapGetter);
    expect(trace.getSpanContext(w3c)!.traceId).toBe('0af7651916cd43dd8448eb211c80319c');
    const bad = propagation.extract(ROOT_CONTEXT, { 'trace-id': 'not-hex' }, defaultTextMapGetter);
    expect(trace.getSpanContext(bad)).toBeUndefined();
  });

  it('the propagator writes the named keys as W3C baggage, percent-encoded', () => {
    const carrier: Record<string, string> = {};
    runWithContext(createContext({ userId: 'u-7', values: { plan: 'pro plan;x' } }), () =>
      propagation.inject(context.active(), carrier, defaultTextMapSetter),
    );
    expect(carrier.baggage).toBe('user-id=u-7,plan=pro%20plan%3Bx');
  });
});

describe('gRPC-style servers (context before span)', () => {
  it('the propagator joins the current ctxkit trace when the wire carries no id', () => {
    const ctx = createContext();
    const joined = runWithContext(ctx, () => propagation.extract(ROOT_CONTEXT, {}, defaultTextMapGetter));
    expect(trace.getSpanContext(joined)!.traceId).toBe(ctx.traceId);
    // A context with a legacy id still has a W3C trace id, which the span joins.
    const legacy = createContext({ traceId: 'not-w3c' });
    const withLegacy = runWithContext(legacy, () => propagation.extract(ROOT_CONTEXT, {}, defaultTextMapGetter));
    expect(trace.getSpanContext(withLegacy)!.traceId).toBe(legacy.traceId);
  });

  it('the span processor records the ids on server spans as they start', async () => {
    const { ctxkitSpanProcessor } = await import('./otel.js');
    const { SpanKind } = await import('@opentelemetry/api');
    const local = new InMemorySpanExporter();
    const p = new TracerProvider({ spanProcessors: [ctxkitSpanProcessor(), new SimpleSpanProcessor({ exporter: local })] });
    const t = p.getTracer('t');
    runWithContext(createContext({ traceId: 'legacy-7', userId: 'u-3' }), () => {
      t.startSpan('server', { kind: SpanKind.SERVER }).end();
      t.startSpan('client', { kind: SpanKind.CLIENT }).end();
    });
    const [server, client] = local.getFinishedSpans();
    expect(server!.attributes).toMatchObject({ 'enduser.id': 'u-3', 'ctxkit.legacy_trace_id': 'legacy-7' });
    expect(client!.attributes).toEqual({});
    await p.shutdown();
  });
});
