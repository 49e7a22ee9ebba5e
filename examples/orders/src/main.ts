// The orders service: gRPC, calling inventory over gRPC and billing over HTTP.
// Start it with `npm start` (it needs `--import ./src/otel.ts`, which the script passes).
import { Server } from '@grpc/grpc-js';
import { serverInterceptor, serverKeepalive, setStreamResetLimit, wrapService } from '@ctxkit/grpc';
import { loadApi, type OrdersHandlers } from '@ctxkit-examples/api';
import { events, pool } from './clients.ts';
import { serveGrpc, withHop } from '@ctxkit-examples/shared';
import { log } from './log.ts';
import { stopTelemetry } from './otel.ts';
import { createOrder, getOrder } from './orders.ts';

const ordersService: OrdersHandlers = {
  async CreateOrder(call) {
    const { sku, quantity, inventoryWorkMs, billingWorkMs } = call.request;
    return withHop('orders', async (hop) => {
      const order = await createOrder(sku, quantity, { inventory: inventoryWorkMs, billing: billingWorkMs }, hop);
      return { order, hop: hop.snapshot('OK') };
    });
  },
  async GetOrder(call) {
    return getOrder(call.request.orderId);
  },
};

const server = new Server({ ...serverKeepalive, interceptors: [serverInterceptor()] });
setStreamResetLimit(server); // a burst of cancelled calls must not end the connection
server.addService(loadApi().orders.Orders.service, wrapService(ordersService, { logger: (record) => log.error(record) }));
await serveGrpc('orders', server, process.env.ORDERS_BIND ?? '127.0.0.1:0', async () => {
  pool.close();
  await events?.drain();
  await stopTelemetry();
});
