// OpenTelemetry for a service, started from its own src/otel.ts, preloaded with
// `node --import ./src/otel.ts` so that it runs before grpc-js and http are loaded: instrumentations patch modules as they load, and a module
// loaded earlier silently gets no spans. Tracing always runs (ctxkit and the spans share one trace
// id); exporting is chosen by OTEL_TRACES_EXPORTER: `none` (default), `console` or `otlp`
// (OTEL_EXPORTER_OTLP_ENDPOINT, default http://localhost:4318).
import { register } from 'node:module';
import { ctxkitPropagator, ctxkitSpanProcessor, enableOpenTelemetry } from '@ctxkit/core/otel';
import { CompositePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { GrpcInstrumentation } from '@opentelemetry/instrumentation-grpc';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { BatchSpanProcessor, ConsoleSpanExporter, NoopSpanProcessor, SimpleSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace';


// This service is ESM, and require hooks never see a package an ES module imports (grpc-js
// here): the import-in-the-middle loader lets the instrumentations patch those too.
register('@opentelemetry/instrumentation/hook.mjs', import.meta.url);

function spanProcessor(exporter: string | undefined): SpanProcessor {
  switch (exporter ?? 'none') {
    case 'console':
      return new SimpleSpanProcessor({ exporter: new ConsoleSpanExporter() });
    case 'otlp':
      return new BatchSpanProcessor({ exporter: new OTLPTraceExporter() });
    case 'none':
      return new NoopSpanProcessor();
    default:
      throw new Error(`OTEL_TRACES_EXPORTER must be none, console or otlp; got ${exporter}`);
  }
}

/**
 * Starts tracing for `service` (ctxkit's bridge included); returns the function that flushes and
 * stops it on shutdown.
 */
export function startTelemetry(service: string): () => Promise<void> {
  const sdk = new NodeSDK({
    serviceName: service,
    autoDetectResources: false,
    // Given explicitly: without them the SDK sets up OTLP exporters for traces, logs and metrics.
    spanProcessors: [ctxkitSpanProcessor(), spanProcessor(process.env.OTEL_TRACES_EXPORTER)],
    logRecordProcessors: [],
    metricReaders: [],
    textMapPropagator: new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), ctxkitPropagator()] }),
    instrumentations: [new HttpInstrumentation(), new GrpcInstrumentation()],
  });
  sdk.start();
  enableOpenTelemetry();
  return () => sdk.shutdown();
}
