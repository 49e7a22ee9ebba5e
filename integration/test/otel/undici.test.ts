/**
 * Requests through ctxkit's undici interceptor with the OpenTelemetry bridge on: each carries
 * exactly one `traceparent`, naming the client span of the call under the active server span,
 * whether ctxkit makes that span (no undici instrumentation) or
 * `@opentelemetry/instrumentation-undici` does. In-process: the SDK's tracer provider, ctxkit's
 * propagator, a real Fastify server on 127.0.0.1.
 */
import { SpanKind } from '@opentelemetry/api';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { createContext, runWithContext } from '@ctxkit/core';
import { undiciInterceptor } from '@ctxkit/core/fetch';
import { Agent, type Dispatcher, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spanRecorder } from './fixtures/client-spans.ts';
import type { Report } from '../conformance/support/hop-service.ts';
import { type Hop, startFastifyHop } from '../conformance/support/hops.ts';

const recorder = spanRecorder();
const { exporter, provider, clientSpans } = recorder;
const tracer = provider.getTracer('test');
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

let http: Hop;
let agent: Agent;
let dispatcher: Dispatcher;

beforeAll(async () => {
  recorder.install();
  http = await startFastifyHop('http', { trust: 'internal' });
  agent = new Agent();
  dispatcher = agent.compose(undiciInterceptor());
});
afterAll(async () => {
  await agent.destroy();
  await http.close();
  await recorder.uninstall();
});

/** Two requests through the interceptor in a ctxkit context under a sampled server span. */
async function twoCallsUnderServerSpan(): Promise<{ server: { traceId: string; spanId: string }; reports: Report[] }> {
  exporter.reset();
  const reports: Report[] = [];
  const server = await tracer.startActiveSpan('server', { kind: SpanKind.SERVER }, async (span) => {
    const ctx = createContext();
    try {
      await runWithContext(ctx, async () => {
        for (let i = 0; i < 2; i++) {
          const res = await request(http.target, { method: 'POST', dispatcher, headers: { 'content-type': 'application/json' }, body: '{"calls":[]}' });
          reports.push((await res.body.json()) as Report);
        }
      });
    } finally {
      ctx.end();
      span.end();
    }
    return { traceId: span.spanContext().traceId, spanId: span.spanContext().spanId };
  });
  return { server, reports };
}

/** Each call carried one traceparent, naming a client span of `scope` under the server span. */
async function expectOneTraceparentPerCall(scope: string): Promise<void> {
  const { server, reports } = await twoCallsUnderServerSpan();
  const clients = await clientSpans(2);
  expect(clients).toHaveLength(2);
  const parents = new Set<string>();
  for (const [i, report] of reports.entries()) {
    const sent = report.received.filter(([k]) => k === 'traceparent').map(([, v]) => v);
    expect(sent, `call ${i}: one traceparent`).toHaveLength(1);
    const [, traceId, parentId, flags] = TRACEPARENT.exec(sent[0]!)!;
    expect(traceId).toBe(server.traceId);
    expect(flags).toBe('01');
    const span = clients.find((s) => s.spanContext().spanId === parentId);
    expect(span, `call ${i}: its traceparent names its client span`).toBeDefined();
    expect(span!.parentSpanContext?.spanId).toBe(server.spanId);
    expect(span!.instrumentationScope.name).toBe(scope);
    expect(report.ctx.traceId).toBe(server.traceId);
    parents.add(parentId!);
  }
  expect(parents.size).toBe(2);
}

describe('the undici interceptor with the bridge on', () => {
  it('without undici instrumentation: ctxkit makes each call its client span and carries it once', async () => {
    await expectOneTraceparentPerCall('@ctxkit/core');
  });

  it('with @opentelemetry/instrumentation-undici: its client span, carried once (ctxkit writes none)', async () => {
    const instrumentation = new UndiciInstrumentation();
    instrumentation.setTracerProvider(provider);
    instrumentation.enable();
    try {
      await expectOneTraceparentPerCall('@opentelemetry/instrumentation-undici');
    } finally {
      instrumentation.disable();
    }
  });
});
