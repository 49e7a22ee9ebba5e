import { createRequire } from 'node:module';
import { afterAll, describe, expect, it } from 'vitest';

// The OpenTelemetry grpc instrumentation patches grpc-js when it is required (a require hook), so
// the SDK (loaded through require too, one copy) starts before grpc-js, ctxkit and the helpers are
// loaded, dynamically, below. ctxkit's bridge is on, as its docs ask when OpenTelemetry is.
const require = createRequire(import.meta.url);
const { GrpcInstrumentation } = require('@opentelemetry/instrumentation-grpc') as typeof import('@opentelemetry/instrumentation-grpc');
const { NodeSDK } = require('@opentelemetry/sdk-node') as typeof import('@opentelemetry/sdk-node');
const { InMemorySpanExporter, SimpleSpanProcessor } = require('@opentelemetry/sdk-trace') as typeof import('@opentelemetry/sdk-trace');
const { trace } = require('@opentelemetry/api') as typeof import('@opentelemetry/api');
const exporter = new InMemorySpanExporter();
const sdk = new NodeSDK({
  spanProcessors: [new SimpleSpanProcessor({ exporter })],
  instrumentations: [new GrpcInstrumentation()],
});
sdk.start();
const grpc = require('@grpc/grpc-js') as typeof import('@grpc/grpc-js');
const { CancelledError, createContext, currentContext, runWithContext } = await import('@ctxkit/core');
const { enableOpenTelemetry } = await import('@ctxkit/core/otel');
const disableBridge = enableOpenTelemetry();
const tracer = trace.getTracer('ctxkit-grpc-test');
const { clientInterceptor, serverInterceptor, wrapService } = await import('../src/index.js');
const h = await import('./helpers.js');

let calls = 0;
let started = h.deferred();
let bAborted = h.deferred<unknown>();
const b = await h.startServer(
  wrapService({
    async unary(call: import('@grpc/grpc-js').ServerUnaryCall<import('./helpers.js').Req, unknown>) {
      calls++;
      if (call.request.text !== 'hang') return h.seen();
      const { signal } = currentContext();
      started.resolve();
      bAborted.resolve(await h.aborted(signal));
      throw signal.reason;
    },
  }),
  { interceptors: [serverInterceptor()] },
);
const toB = h.probeClient(b.target, [clientInterceptor()]);
const a = await h.startServer(
  wrapService({ unary: (call: { request: import('./helpers.js').Req }) => h.unary(toB, call.request) }),
  { interceptors: [serverInterceptor()] },
);
const toA = h.probeClient(a.target, [clientInterceptor()]);

afterAll(async () => {
  toA.close();
  toB.close();
  await Promise.all([a.close(), b.close()]);
  disableBridge();
  await exporter.shutdown();
});

/** Runs `fn` with `span` active, as an instrumented edge runs its request. */
function inSpan<R>(span: import('@opentelemetry/api').Span, fn: () => R): R {
  const { context } = require('@opentelemetry/api') as typeof import('@opentelemetry/api');
  return context.with(trace.setSpan(context.active(), span), fn);
}

describe('with the OpenTelemetry grpc instrumentation enabled', () => {
  it('is really instrumenting grpc-js', async () => {
    exporter.reset();
    await runWithContext(createContext(), () => h.unary(toA));
    const kinds = exporter.getFinishedSpans().filter((s) => s.name.includes('ctxkit.test.Probe/Unary'));
    // client and server spans of the two hops
    expect(kinds.length).toBeGreaterThanOrEqual(4);
  });

  it('ids, custom keys and the deadline still reach the next hop', async () => {
    // A chain that starts under a span (as an instrumented edge would) takes its trace id.
    const span = tracer.startSpan('edge');
    const root = inSpan(span, () =>
      createContext({ userId: 'u-otel', values: { [h.tenantId.name]: 'acme' }, timeoutMs: 4000 }),
    );
    const atB = await inSpan(span, () => runWithContext(root, () => h.unary(toA)));
    span.end();
    expect(root.traceId).toBe(span.spanContext().traceId);
    expect(atB).toMatchObject({ traceId: root.traceId, userId: 'u-otel', tenant: 'acme', hasContext: true });
    expect(atB.deadline).toBeGreaterThan(Date.now());
    expect(atB.deadline).toBeLessThanOrEqual(Date.now() + 4000);
    root.end();
  });

  it('cancelling the first call still cancels the next hop', async () => {
    started = h.deferred();
    bAborted = h.deferred();
    const call = runWithContext(createContext(), () => toA.unary({ text: 'hang' }, () => {}));
    await h.within(5000, started.promise, 'B to start');
    call.cancel();
    expect(await h.within(5000, bAborted.promise, "B's signal to abort")).toBeInstanceOf(CancelledError);
  });

  it('an expired context still makes no request', async () => {
    calls = 0;
    const ctx = createContext({ timeoutMs: 0 });
    await expect(runWithContext(ctx, () => h.unary(toB))).rejects.toMatchObject({ code: grpc.status.DEADLINE_EXCEEDED });
    expect(calls).toBe(0);
  });
});
