// The inventory service: gRPC, with ctxkit's server interceptor and service wrapper.
// Start it with `npm start` (it needs `--import ./src/otel.ts`, which the script passes).
import { Server } from '@grpc/grpc-js';
import { serverInterceptor, serverKeepalive, setStreamResetLimit, wrapService } from '@ctxkit/grpc';
import { type InventoryHandlers, loadApi } from '@ctxkit-examples/api';
import { serveGrpc, withHop } from '@ctxkit-examples/shared';
import { log } from './log.ts';
import { stopTelemetry } from './otel.ts';
import { levels, reserve } from './stock.ts';

const inventory: InventoryHandlers = {
  async Reserve(call) {
    const { orderId, sku, quantity, workMs } = call.request;
    return withHop('inventory', async (hop) => {
      const reservationId = await reserve(sku, quantity, workMs);
      log.info({ orderId, sku, quantity, reservationId }, 'reserved');
      return { reservationId, hop: hop.snapshot('OK') };
    });
  },
  WatchStock(call) {
    for (const level of levels(call.request.skus)) call.write(level);
    call.end();
  },
};

const server = new Server({ ...serverKeepalive, interceptors: [serverInterceptor()] });
setStreamResetLimit(server); // a burst of cancelled calls must not end the connection
server.addService(loadApi().inventory.Inventory.service, wrapService(inventory, { logger: (record) => log.error(record) }));
await serveGrpc('inventory', server, process.env.INVENTORY_BIND ?? '127.0.0.1:0', stopTelemetry);
