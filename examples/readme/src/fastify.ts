import { currentContext } from '@ctxkit/core';
import { ctxkit, ctxkitErrorHandler } from '@ctxkit/fastify';
import Fastify from 'fastify';

declare module 'fastify' {
  interface FastifyRequest {
    user?: { sub: string } | undefined; // set by your authentication (@fastify/jwt, say)
  }
}

const app = Fastify();
app.decorateRequest('user', undefined);
app.addHook('onRequest', async (request) => {
  // A stand-in for your authentication: "Authorization: Bearer alice" is user alice.
  const token = /^Bearer (\w+)$/.exec(request.headers.authorization ?? '')?.[1];
  if (token !== undefined) request.user = { sub: token };
});
await app.register(ctxkit, {
  defaultTimeoutMs: 3_000, // when the client sends no request-timeout-ms
  maxTimeoutMs: 5_000, // a client may ask for less, never more
  resolveUser: (request) => request.user?.sub, // runs after your auth hooks
});
app.setErrorHandler(ctxkitErrorHandler); // optional: errors as { code, message, traceId }
app.get('/whoami', async (request) => {
  const { traceId, userId } = currentContext(); // the same object as request.ctx
  return { traceId, userId, left: request.ctx.remainingMs() };
});

const url = await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 3000) });
console.log(`listening on ${url}`);
process.once('SIGTERM', () => app.close());
