/**
 * The OpenTelemetry set-up a user would write: NodeSDK, one instrumentation (http or grpc),
 * a batch span processor and an exporter that drops spans (no network, no growing memory).
 * Must run before fastify, express or grpc-js are loaded, so that require-in-the-middle patches them.
 */
import { createRequire } from 'node:module';
import type { ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';

const require = createRequire(import.meta.url);

/** Counts the spans it is given and drops them. */
class CountingExporter implements SpanExporter {
  spans = 0;
  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.spans += spans.length;
    done({ code: 0 });
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/** Which instrumentation to load. */
export type Instrument = 'http' | 'grpc';

/** A started SDK: how many spans it exported so far, and how to shut it down. */
export interface OtelHandle {
  spansExported(): number;
  shutdown(): Promise<void>;
}

/**
 * Starts the SDK with the given instrumentation; with `ctxkit`, as the core README sets it up:
 * ctxkit's propagator and span processor, and the bridge (`enableOpenTelemetry`).
 */
export async function startOtel(instrument: Instrument, ctxkit: boolean): Promise<OtelHandle> {
  // The SDK reads these; the benchmark wants no metrics or logs pipeline and no resource probing.
  process.env.OTEL_METRICS_EXPORTER = 'none';
  process.env.OTEL_LOGS_EXPORTER = 'none';
  process.env.OTEL_SDK_DISABLED = 'false';
  const { NodeSDK } = require('@opentelemetry/sdk-node') as typeof import('@opentelemetry/sdk-node');
  const { BatchSpanProcessor } = require('@opentelemetry/sdk-trace') as typeof import('@opentelemetry/sdk-trace');
  const { W3CTraceContextPropagator } = require('@opentelemetry/core') as typeof import('@opentelemetry/core');
  const instrumentation =
    instrument === 'http'
      ? new (require('@opentelemetry/instrumentation-http') as typeof import('@opentelemetry/instrumentation-http')).HttpInstrumentation()
      : new (require('@opentelemetry/instrumentation-grpc') as typeof import('@opentelemetry/instrumentation-grpc')).GrpcInstrumentation();
  const exporter = new CountingExporter();
  // As the core README sets it up: ctxkit's propagator in place of the SDK's W3C one (not both,
  // which would parse every traceparent twice), and its span processor beside the exporter's.
  let bridge: typeof import('@ctxkit/core/otel') | undefined;
  if (ctxkit) bridge = await import('@ctxkit/core/otel');
  const sdk = new NodeSDK({
    serviceName: 'ctxkit-bench',
    autoDetectResources: false,
    resourceDetectors: [],
    spanProcessors:
      bridge === undefined ? [new BatchSpanProcessor({ exporter })] : [bridge.ctxkitSpanProcessor(), new BatchSpanProcessor({ exporter })],
    textMapPropagator: bridge === undefined ? new W3CTraceContextPropagator() : bridge.ctxkitPropagator(),
    instrumentations: [instrumentation],
  });
  sdk.start();
  bridge?.enableOpenTelemetry();
  return {
    spansExported: () => exporter.spans,
    shutdown: () => sdk.shutdown(),
  };
}
