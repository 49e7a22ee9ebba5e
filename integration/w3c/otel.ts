/**
 * The OpenTelemetry set-up of the core README, as an application writes it, with an in-memory
 * exporter. Imported before fastify and http are loaded, so the http instrumentation sees them.
 * `W3C_PROPAGATOR=sdk` puts the SDK's own W3C propagator first instead, to measure it;
 * `W3C_UNDICI=1` adds OpenTelemetry's undici instrumentation, which then writes the headers.
 */
import { CompositePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace';
import { ctxkitPropagator, ctxkitSpanProcessor, enableOpenTelemetry } from '@ctxkit/core/otel';

new NodeSDK({
  serviceName: 'w3c-test-service',
  autoDetectResources: false,
  textMapPropagator:
    process.env.W3C_PROPAGATOR === 'sdk'
      ? new CompositePropagator({ propagators: [ctxkitPropagator(), new W3CTraceContextPropagator()] })
      : ctxkitPropagator(),
  spanProcessors: [ctxkitSpanProcessor(), new SimpleSpanProcessor({ exporter: new InMemorySpanExporter() })],
  instrumentations: process.env.W3C_UNDICI === '1' ? [new HttpInstrumentation(), new UndiciInstrumentation()] : [new HttpInstrumentation()],
}).start();
enableOpenTelemetry();
