/**
 * Messages and jobs with the OpenTelemetry bridge on. No OpenTelemetry instrumentation sees
 * ctxkit's NATS publishes and subscriptions or BullMQ's queue and worker, so ctxkit makes the
 * producer span of each send and the consumer span of each message or job, one trace from the
 * request that sent it to the calls its handler makes. Real nats-server and redis-server on
 * 127.0.0.1, the SDK's tracer provider, ctxkit's propagator.
 */
import { once } from 'node:events';
import { context, propagation, type SpanContext, SpanKind, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { Queue, Worker } from 'bullmq';
import { connect, headers as natsHeaders, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContext, currentContext, runWithContext } from '@ctxkit/core';
import { ctxkitPropagator, enableOpenTelemetry } from '@ctxkit/core/otel';
import { contextProcessor, enqueue } from '@ctxkit/bullmq';
import { publish, request, subscribe } from '@ctxkit/nats';
import { startNats, startRedis, type TestServer } from '@ctxkit/test-support/servers';

const exporter = new InMemorySpanExporter();
const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
const tracer = provider.getTracer('test');
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** What a handler saw: the ctxkit context's trace id, the active span, the traceparent that came. */
interface Seen {
  readonly traceId: string;
  readonly active: SpanContext | undefined;
  readonly recording: boolean;
  readonly traceparent: string | undefined;
}
function seen(traceparent: string | undefined): Seen {
  const span = trace.getActiveSpan();
  return { traceId: currentContext().traceId, active: span?.spanContext(), recording: span?.isRecording() ?? false, traceparent };
}

/** The finished spans named `name`, once there are `n` (bounded: 5 s). */
async function spansNamed(name: string, n = 1): Promise<ReadableSpan[]> {
  const until = Date.now() + 5000;
  for (;;) {
    const found = exporter.getFinishedSpans().filter((s) => s.name === name);
    if (found.length >= n || Date.now() > until) return found;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Runs `fn` in a ctxkit context under a sampled server span, as an HTTP handler would. */
async function underServerSpan<T>(fn: () => Promise<T>): Promise<{ server: SpanContext; result: T }> {
  return tracer.startActiveSpan('server', { kind: SpanKind.SERVER }, async (span) => {
    const ctx = createContext();
    try {
      const result = await runWithContext(ctx, fn);
      return { server: span.spanContext(), result };
    } finally {
      ctx.end();
      span.end();
    }
  });
}

let nats: TestServer;
let redis: TestServer;
let producer: NatsConnection;
let consumer: NatsConnection;
let disable: () => void;
const waiting = new Map<string, (s: Seen) => void>();
const arrival = (subject: string) => new Promise<Seen>((resolve) => waiting.set(subject, resolve));

beforeAll(async () => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(provider);
  propagation.setGlobalPropagator(ctxkitPropagator());
  disable = enableOpenTelemetry();
  [nats, redis] = await Promise.all([startNats(), startRedis()]);
  [producer, consumer] = await Promise.all([connect({ servers: nats.address }), connect({ servers: nats.address })]);
  for (const subject of ['orders.created', 'legacy.event', 'foreign.event']) {
    subscribe(consumer, subject, (msg) => waiting.get(subject)?.(seen(msg.headers?.get('traceparent'))), { trust: 'internal' });
  }
  subscribe(consumer, 'stock.reserve', (msg) => msg.respond(JSON.stringify(seen(msg.headers?.get('traceparent')))), { trust: 'internal' });
  await consumer.flush();
});
afterAll(async () => {
  disable();
  await Promise.all([producer?.close(), consumer?.close()]);
  await Promise.all([nats?.stop(), redis?.stop()]);
  await provider.shutdown();
  trace.disable();
  context.disable();
  propagation.disable();
});

describe('NATS with the OpenTelemetry bridge on', () => {
  it('a publish is a producer span under the request; the handler runs in a consumer span under it, one trace', async () => {
    exporter.reset();
    const arrived = arrival('orders.created');
    const { server } = await underServerSpan(async () => publish(producer, 'orders.created', '{}'));
    const handler = await arrived;
    const [send] = await spansNamed('publish orders.created');
    const [process] = await spansNamed('process orders.created');
    expect(send!.kind).toBe(SpanKind.PRODUCER);
    expect(send!.parentSpanContext?.spanId).toBe(server.spanId);
    expect(send!.attributes).toMatchObject({ 'messaging.system': 'nats', 'messaging.destination.name': 'orders.created', 'messaging.operation.type': 'send' });
    // The message carried the producer span's context, once.
    expect(handler.traceparent).toMatch(TRACEPARENT);
    expect(TRACEPARENT.exec(handler.traceparent!)![2]).toBe(send!.spanContext().spanId);
    expect(process!.kind).toBe(SpanKind.CONSUMER);
    expect(process!.parentSpanContext?.spanId).toBe(send!.spanContext().spanId);
    expect(process!.attributes).toMatchObject({ 'messaging.system': 'nats', 'messaging.operation.type': 'process' });
    // The handler's own calls would be children of the consumer span, in the context's trace.
    expect(handler.active?.spanId).toBe(process!.spanContext().spanId);
    for (const id of [send!.spanContext().traceId, process!.spanContext().traceId, handler.traceId]) expect(id).toBe(server.traceId);
  });

  it('a request is a client span that ends with the reply; the responder is a consumer span under it', async () => {
    exporter.reset();
    const { server, result } = await underServerSpan(async () => (await request(producer, 'stock.reserve', '{}', { timeoutMs: 2000 })).json<Seen>());
    const [call] = await spansNamed('request stock.reserve');
    const [process] = await spansNamed('process stock.reserve');
    expect(call!.kind).toBe(SpanKind.CLIENT);
    expect(call!.parentSpanContext?.spanId).toBe(server.spanId);
    expect(process!.parentSpanContext?.spanId).toBe(call!.spanContext().spanId);
    expect(result.active?.spanId).toBe(process!.spanContext().spanId);
    expect(result.traceId).toBe(server.traceId);
  });

  it('a request that times out ends its span as an error, once', async () => {
    exporter.reset();
    await expect(underServerSpan(() => request(producer, 'nobody.listens', '{}', { timeoutMs: 100 }))).rejects.toThrow();
    const calls = await spansNamed('request nobody.listens');
    expect(calls).toHaveLength(1);
    expect(calls[0]!.status.code).toBe(2); // ERROR
  });

  it('a message with only a legacy trace-id keeps that trace, and cannot force sampling', async () => {
    exporter.reset();
    const arrived = arrival('legacy.event');
    const h = natsHeaders();
    h.set('trace-id', '4bf92f3577b34da6a3ce929d0e0e4736');
    producer.publish('legacy.event', '{}', { headers: h }); // a producer without ctxkit or a tracer
    const handler = await arrived;
    expect(handler.traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(handler.active?.traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(handler.recording).toBe(false); // the parent is not sampled: no span is recorded for it
  });

  it("a foreign producer's traceparent is the consumer span's parent", async () => {
    exporter.reset();
    const arrived = arrival('foreign.event');
    const h = natsHeaders();
    h.set('traceparent', '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
    producer.publish('foreign.event', '{}', { headers: h });
    const handler = await arrived;
    const [process] = await spansNamed('process foreign.event');
    expect(process!.spanContext().traceId).toBe('0af7651916cd43dd8448eb211c80319c');
    expect(process!.parentSpanContext?.spanId).toBe('b7ad6b7169203331');
    expect(handler.traceId).toBe('0af7651916cd43dd8448eb211c80319c');
  });
});

describe('BullMQ with the OpenTelemetry bridge on', () => {
  it('an enqueue is a producer span under the request; the job runs in a consumer span under it', async () => {
    exporter.reset();
    const connection = { host: '127.0.0.1', port: redis.port, maxRetriesPerRequest: null };
    const queue = new Queue('otel-receipts', { connection });
    let done!: (s: Seen) => void;
    const ran = new Promise<Seen>((resolve) => {
      done = resolve;
    });
    const worker = new Worker('otel-receipts', contextProcessor<{ _ctxkit?: Record<string, string> }, void>(async (job) => done(seen(job.data._ctxkit?.traceparent)), { trust: 'internal' }), { connection });
    try {
      await once(worker, 'ready');
      const { server } = await underServerSpan(async () => enqueue(queue, 'receipt', { orderId: 'ord-1' }));
      const job = await ran;
      const [add] = await spansNamed('add otel-receipts');
      const [process] = await spansNamed('process otel-receipts');
      expect(add!.kind).toBe(SpanKind.PRODUCER);
      expect(add!.parentSpanContext?.spanId).toBe(server.spanId);
      expect(add!.attributes).toMatchObject({ 'messaging.system': 'bullmq', 'messaging.destination.name': 'otel-receipts' });
      expect(TRACEPARENT.exec(job.traceparent!)![2]).toBe(add!.spanContext().spanId);
      expect(process!.kind).toBe(SpanKind.CONSUMER);
      expect(process!.parentSpanContext?.spanId).toBe(add!.spanContext().spanId);
      expect(job.active?.spanId).toBe(process!.spanContext().spanId);
      expect(job.traceId).toBe(server.traceId);
    } finally {
      await worker.close();
      await queue.obliterate({ force: true });
      await queue.close();
    }
  });
});
