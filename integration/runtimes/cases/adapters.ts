/** The Fastify plugin and the Express middleware on real servers, with the stream-listener traps. */
import { once } from 'node:events';
import type { Server } from 'node:http';
import { CancelledError, currentContext, type RequestContext, tryCurrentContext } from '@ctxkit/core';
import { type Case, check, same } from '../harness.ts';
import { close, hangUp, randomTraceId, request, signal, traceparent } from '../support.ts';

const tick = () => new Promise<void>((resolve) => setTimeout(resolve, Math.floor(Math.random() * 4)));

/** 20 interleaved requests, half with a JSON body: each answer must carry its own trace id. */
async function interleaved(port: number): Promise<void> {
  const ids = Array.from({ length: 20 }, randomTraceId);
  const replies = await Promise.all(
    ids.map((id, i) =>
      request(port, '/ctx', {
        method: i % 2 === 0 ? 'GET' : 'POST',
        headers: { traceparent: traceparent(id), ...(i % 2 === 0 ? {} : { 'content-type': 'application/json' }) },
        body: i % 2 === 0 ? undefined : JSON.stringify({ n: i }),
      }),
    ),
  );
  replies.forEach((reply, i) => {
    same(reply.status, 200, `request ${i}`);
    const body = JSON.parse(reply.body) as { traceId: string; same: boolean };
    same(body.traceId, ids[i], `request ${i}: the handler's trace id after awaits`);
    check(body.same, `request ${i}: the framework's ctx is currentContext()`);
  });
}

/** A budget the client asks for passes: 504; a client that hangs up: the context is cancelled. */
async function budgetAndDisconnect(port: number, held: Promise<RequestContext>): Promise<void> {
  const late = await request(port, '/wait-abort', { headers: { 'request-timeout-ms': '30' } });
  same(late.status, 504, 'a request past its budget');
  let inListener: unknown;
  const aborted = held.then(async (ctx) => {
    ctx.signal.addEventListener('abort', () => {
      inListener = tryCurrentContext();
    });
    if (!ctx.signal.aborted) await once(ctx.signal, 'abort');
    return ctx;
  });
  await hangUp(port, '/hold', held);
  const ctx = await aborted;
  check(ctx.signal.reason instanceof CancelledError, 'a client that hung up cancels the context');
  same(inListener, ctx, 'the abort listener runs in the cancelled context');
}

async function fastifyAdapter(): Promise<void> {
  const { default: Fastify } = await import('fastify');
  const { ctxkit } = await import('@ctxkit/fastify');
  const app = Fastify({ logger: false });
  await app.register(ctxkit, { maxTimeoutMs: 10_000 });
  const held = signal<RequestContext>();
  const onResponse: boolean[] = [];
  app.addHook('onResponse', async (request) => {
    onResponse.push(tryCurrentContext() === request.ctx);
  });
  const handler = async (request: { ctx: RequestContext }) => {
    await tick();
    return { traceId: currentContext().traceId, same: request.ctx === currentContext() };
  };
  app.get('/ctx', handler);
  app.post('/ctx', handler);
  app.get('/wait-abort', async (request) => {
    await once(request.ctx.signal, 'abort');
    throw request.ctx.signal.reason;
  });
  app.get('/hold', async (request) => {
    held.resolve(request.ctx);
    await once(request.ctx.signal, 'abort');
    return 'gone';
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  try {
    const port = (app.server.address() as { port: number }).port;
    await interleaved(port);
    await budgetAndDisconnect(port, held.promise);
    check(onResponse.length >= 21 && onResponse.every(Boolean), 'onResponse hooks run in the request context');
  } finally {
    await app.close();
  }
}

async function expressAdapter(): Promise<void> {
  const { default: express } = await import('express');
  const { ctxkit, ctxkitErrorHandler } = await import('@ctxkit/express');
  const app = express();
  app.use(ctxkit({ maxTimeoutMs: 10_000 }));
  app.use(express.json());
  const held = signal<RequestContext>();
  const handler = async (req: { ctx: RequestContext }, res: { json: (v: unknown) => void }) => {
    await tick();
    res.json({ traceId: currentContext().traceId, same: req.ctx === currentContext() });
  };
  app.get('/ctx', handler);
  app.post('/ctx', handler);
  app.get('/wait-abort', async (req) => {
    await once(req.ctx.signal, 'abort');
  });
  app.get('/hold', async (req) => {
    held.resolve(req.ctx);
    await once(req.ctx.signal, 'abort');
  });
  app.use(ctxkitErrorHandler());
  const server: Server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const port = (server.address() as { port: number }).port;
    await interleaved(port);
    await budgetAndDisconnect(port, held.promise);
  } finally {
    await close(server);
  }
}

/**
 * The traps of issue 22 as an Express app meets them: a `res.on('finish')` listener, a
 * `res.on('close')` listener when the client aborts, `req.on('end')` after `req.resume()`.
 * Each must run in the request's context.
 */
async function expressStreamListeners(): Promise<void> {
  const { default: express } = await import('express');
  const { ctxkit } = await import('@ctxkit/express');
  const app = express();
  app.use(ctxkit());
  const finish = signal<boolean>();
  const closed = signal<boolean>();
  const ended = signal<boolean>();
  const held = signal<void>();
  app.get('/finish', (req, res) => {
    res.on('finish', () => finish.resolve(tryCurrentContext() === req.ctx));
    setTimeout(() => res.end('ok'), 1);
  });
  app.get('/abort', (req, res) => {
    res.on('close', () => closed.resolve(tryCurrentContext() === req.ctx));
    held.resolve();
  });
  app.post('/resume', (req, res) => {
    req.resume();
    req.on('end', () => {
      ended.resolve(tryCurrentContext() === req.ctx);
      res.end('ok');
    });
  });
  const server: Server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const port = (server.address() as { port: number }).port;
    same((await request(port, '/finish')).status, 200, 'GET /finish');
    check(await finish.promise, "res.on('finish') runs in the request context");
    await hangUp(port, '/abort', held.promise);
    check(await closed.promise, "res.on('close') runs in the request context when the client aborts");
    same((await request(port, '/resume', { method: 'POST', body: 'x'.repeat(70_000) })).status, 200, 'POST /resume');
    check(await ended.promise, "req.on('end') after req.resume() runs in the request context");
  } finally {
    await close(server);
  }
}

export const adapterCases: readonly Case[] = [
  { id: 'fastify', run: fastifyAdapter },
  { id: 'express', run: expressAdapter },
  { id: 'express-stream-listeners', run: expressStreamListeners },
];
