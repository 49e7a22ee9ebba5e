import { ctxkit, ctxkitErrorHandler } from '@ctxkit/fastify';
import Fastify from 'fastify';
import { authenticate } from './auth.ts';
import { withHop } from '@ctxkit-examples/shared';
import { fastifyLog } from './log.ts';
import { createOrder, getOrder, type NewOrder } from './orders-client.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** Incoming values ctxkit refused for this request ("key: reason"), for its hop report. */
    dropped: string[] | undefined;
  }
}

const newOrderSchema = {
  type: 'object',
  required: ['sku', 'quantity'],
  additionalProperties: false,
  properties: {
    sku: { type: 'string', maxLength: 64 },
    quantity: { type: 'integer', minimum: 1, maximum: 100 },
    // Demo knobs: how long the inventory and billing hops work, ms.
    inventoryWorkMs: { type: 'integer', minimum: 0, maximum: 10_000, default: 0 },
    billingWorkMs: { type: 'integer', minimum: 0, maximum: 10_000, default: 0 },
  },
} as const;

/** Builds the gateway: the public REST API in front of the orders service. */
export async function buildApp() {
  const app = Fastify({ loggerInstance: fastifyLog });
  app.decorateRequest('user', undefined);
  app.decorateRequest('dropped', undefined);

  await app.register(ctxkit, {
    defaultTimeoutMs: 3_000,
    maxTimeoutMs: 5_000,
    resolveUser: (request) => request.user,
    // What ctxkit refused at the edge, kept with the request for its hop report.
    onDrop: (drop, request) => {
      request.dropped ??= [];
      request.dropped.push(`${drop.key}: ${drop.reason}`);
    },
  });
  app.addHook('onRequest', authenticate);
  // gRPC and ctxkit errors as HTTP statuses with { code, message, traceId }.
  app.setErrorHandler(ctxkitErrorHandler);

  app.post<{ Body: NewOrder }>('/orders', { schema: { body: newOrderSchema } }, async (request, reply) =>
    withHop(
      'gateway',
      async (hop) => {
        const created = await createOrder(request.body);
        hop.child(created.hop);
        reply.code(201);
        return { order: created.order, hops: hop.snapshot('OK') };
      },
      request.dropped,
    ),
  );

  app.get<{ Params: { id: string } }>('/orders/:id', async (request) => ({ order: await getOrder(request.params.id) }));

  app.get('/healthz', async () => ({ ok: true }));
  return app;
}
