/**
 * Outgoing calls with the OpenTelemetry bridge on and no instrumentation for their transport
 * (no undici instrumentation, no grpc-js instrumentation): ctxkit makes the client span of each
 * call and carries its context, once. In-process: the SDK's tracer provider, ctxkit's
 * propagator, real Fastify and grpc-js servers on 127.0.0.1.
 */
import { SpanKind } from '@opentelemetry/api';
import { createContext, runWithContext } from '@ctxkit/core';
import { ctxFetch } from '@ctxkit/core/fetch';
import { clientInterceptor } from '@ctxkit/grpc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spanRecorder } from './fixtures/client-spans.ts';
import { hopClient, type Report } from '../conformance/support/hop-service.ts';
import { type Hop, startFastifyHop, startGrpcHop } from '../conformance/support/hops.ts';

const recorder = spanRecorder();
const { exporter, provider, clientSpans } = recorder;
const tracer = provider.getTracer('test');
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
let http: Hop;
let grpc: Hop;

beforeAll(async () => {
  recorder.install();
  http = await startFastifyHop('http', { trust: 'internal' });
  grpc = await startGrpcHop('grpc');
});
afterAll(async () => {
  await http.close();
  await grpc.close();
  await recorder.uninstall();
});

/** The received traceparent values of a hop's report. */
function traceparents(report: Report): string[] {
  return report.received.filter(([k]) => k === 'traceparent').map(([, v]) => v);
}

/** Runs `fn` in a ctxkit context under a sampled server span; returns the span's ids. */
async function underServerSpan(fn: () => Promise<void>): Promise<{ traceId: string; spanId: string }> {
  exporter.reset();
  return tracer.startActiveSpan('server', { kind: SpanKind.SERVER }, async (span) => {
    const ctx = createContext();
    try {
      await runWithContext(ctx, fn);
    } finally {
      ctx.end();
      span.end();
    }
    return { traceId: span.spanContext().traceId, spanId: span.spanContext().spanId };
  });
}

describe('with the bridge on and no transport instrumentation', () => {
  it('each ctxFetch call gets its client span, whose context it carries once', async () => {
    const reports: Report[] = [];
    const server = await underServerSpan(async () => {
      for (let i = 0; i < 2; i++) {
        const res = await ctxFetch(http.target, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"calls":[]}' });
        reports.push((await res.json()) as Report);
      }
    });
    const clients = await clientSpans(2);
    expect(clients).toHaveLength(2);
    for (const [i, report] of reports.entries()) {
      const sent = traceparents(report);
      expect(sent).toHaveLength(1);
      const [, traceId, parentId] = TRACEPARENT.exec(sent[0]!)!;
      expect(traceId).toBe(server.traceId);
      const span = clients.find((s) => s.spanContext().spanId === parentId);
      expect(span, `call ${i}: its traceparent names its client span`).toBeDefined();
      expect(span!.parentSpanContext?.spanId).toBe(server.spanId);
      expect(span!.instrumentationScope.name).toBe('@ctxkit/core');
      expect(span!.attributes).toMatchObject({ 'http.request.method': 'POST', 'http.response.status_code': 200 });
      expect(report.ctx.traceId).toBe(server.traceId);
    }
  });

  it('each gRPC call through the client interceptor gets its client span, whose context it carries once', async () => {
    const client = hopClient(grpc.target, { interceptors: [clientInterceptor()] });
    let report: Report | undefined;
    try {
      const server = await underServerSpan(async () => {
        report = await client.call({});
      });
      const [span] = await clientSpans(1);
      const sent = traceparents(report!);
      expect(sent).toHaveLength(1);
      expect(sent[0]).toBe(`00-${server.traceId}-${span!.spanContext().spanId}-01`);
      expect(span!.parentSpanContext?.spanId).toBe(server.spanId);
      expect(span!.attributes).toMatchObject({ 'rpc.system': 'grpc', 'rpc.grpc.status_code': 0 });
      expect(report!.ctx.traceId).toBe(server.traceId);
    } finally {
      client.close();
    }
  });
});
