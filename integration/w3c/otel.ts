/**
 * The OpenTelemetry set-up of the core README, as an application writes it, with an in-memory
 * exporter. Imported before fastify and http are loaded, so the http instrumentation sees them.
 */
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace';
import { ctxkitPropagator, ctxkitSpanProcessor, enableOpenTelemetry } from '@ctxkit/core/otel';

new NodeSDK({
  serviceName: 'w3c-test-service',
  autoDetectResources: false,
  textMapPropagator: ctxkitPropagator(),
  spanProcessors: [ctxkitSpanProcessor(), new SimpleSpanProcessor({ exporter: new InMemorySpanExporter() })],
  instrumentations: [new HttpInstrumentation()],
}).start();
enableOpenTelemetry();
