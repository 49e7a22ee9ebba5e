// Preloaded with `node --import ./src/otel.ts`, as every example service is.
import { startTelemetry } from '@ctxkit-examples/shared/otel';

/** Flushes and stops this service's tracing; called on shutdown. */
export const stopTelemetry = startTelemetry('fulfilment');
