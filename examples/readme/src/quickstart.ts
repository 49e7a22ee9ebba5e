// quickstart.ts: a Fastify edge and one gRPC service in one file. Run it: node quickstart.ts
import { currentContext } from '@ctxkit/core';
import { ctxkit, ctxkitErrorHandler } from '@ctxkit/fastify';
import { ClientPool, Status, serverInterceptor, serverKeepalive, setStreamResetLimit, statusError, wrapService } from '@ctxkit/grpc';
import * as grpc from '@grpc/grpc-js';
import Fastify from 'fastify';

// A gRPC service with JSON messages, so that this file needs no .proto (use yours instead).
type Order = { sku: string; userId?: string; traceId?: string; budgetMs?: number };
const json = { serialize: (v: Order) => Buffer.from(JSON.stringify(v)), deserialize: (b: Buffer): Order => JSON.parse(b.toString()) };
const Orders = {
  create: {
    path: '/shop.Orders/Create', requestStream: false, responseStream: false,
    requestSerialize: json.serialize, requestDeserialize: json.deserialize,
    responseSerialize: json.serialize, responseDeserialize: json.deserialize,
  },
} satisfies grpc.ServiceDefinition;

// The service: every handler runs in the caller's context (ids, user, deadline, cancellation).
const server = new grpc.Server({ ...serverKeepalive, interceptors: [serverInterceptor()] });
setStreamResetLimit(server); // bursts of cancelled calls must not end the connection
server.addService(Orders, wrapService({
  async create(call: grpc.ServerUnaryCall<Order, Order>) {
    const { userId, traceId } = currentContext();
    if (userId === undefined) throw statusError(Status.UNAUTHENTICATED, 'sign in first');
    if (call.request.sku === 'slow') await new Promise((r) => setTimeout(r, 2_000));
    return { sku: call.request.sku, userId, traceId, budgetMs: Math.round(currentContext().remainingMs()) };
  },
}));
const grpcPort = await new Promise<number>((resolve, reject) =>
  server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, port) => (e ? reject(e) : resolve(port))),
);

// The edge: the ids from the request, the user from your auth, a budget for the whole chain.
const pool = new ClientPool({ credentials: grpc.credentials.createInsecure() }); // one client per target
const orders = pool.get(grpc.Client, `127.0.0.1:${grpcPort}`);
const createOrder = (order: Order) =>
  new Promise<Order>((resolve, reject) => {
    const { path, requestSerialize, responseDeserialize } = Orders.create;
    orders.makeUnaryRequest(path, requestSerialize, responseDeserialize, order, (e, reply) => (e ? reject(e) : resolve(reply!)));
  });

const app = Fastify();
await app.register(ctxkit, {
  defaultTimeoutMs: 1_000,
  // A stand-in for your authentication: "Authorization: Bearer alice" is user alice.
  resolveUser: (request) => /^Bearer (\w+)$/.exec(request.headers.authorization ?? '')?.[1],
});
app.setErrorHandler(ctxkitErrorHandler); // gRPC and ctxkit errors as HTTP statuses
app.post<{ Body: { sku: string } }>('/orders', async (request) => createOrder({ sku: request.body.sku }));

const url = await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 3000) });
console.log(`listening on ${url}; try:
  curl -s ${url}/orders -H 'authorization: Bearer alice' -H 'content-type: application/json' -d '{"sku":"book"}'`);
process.once('SIGTERM', async () => {
  await app.close();
  pool.close();
  server.forceShutdown();
});
