// Preloaded with `node --import ./src/otel.ts`: tracing must start before grpc-js and http load.
import { startTelemetry } from '@ctxkit-examples/shared/otel';

/** Flushes and stops this service's tracing; called on shutdown. */
export const stopTelemetry = startTelemetry('billing');
