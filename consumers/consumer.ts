// What a consumer writes, type-checked against the packed tarballs in every module mode. Lines
// marked @ts-expect-error must fail to compile: a typing that got looser fails the check too.
import { currentContext, defineKey, type RequestContext, tryCurrentContext, withTimeout, withValue } from '@ctxkit/core';
import { ctxFetch } from '@ctxkit/core/fetch';
import { errorResponse } from '@ctxkit/core/adapter';
import { ctxkitPropagator } from '@ctxkit/core/otel';
import { ctxkit as ctxkitExpress, ctxkitErrorHandler as expressErrors } from '@ctxkit/express';
import { composeErrorHandler, ctxkit, ctxkitErrorHandler } from '@ctxkit/fastify';
import { clientInterceptor, serverInterceptor, Status, statusError, wrapService } from '@ctxkit/grpc';
import { Server } from '@grpc/grpc-js';
import express from 'express';
import { fastify } from 'fastify';

export const tenantId = defineKey<'acme' | 'globex'>('tenant-id');

export async function gateway(): Promise<void> {
  const app = fastify();
  await app.register(ctxkit, { defaultTimeoutMs: 3_000, maxTimeoutMs: 5_000, resolveUser: (request) => request.headers['x-user'] as string | undefined });
  // @ts-expect-error a timeout is a number of milliseconds
  await app.register(ctxkit, { defaultTimeoutMs: '3s' });
  app.setErrorHandler(composeErrorHandler((_error, _request, reply) => reply.code(500).send()));
  app.setErrorHandler(ctxkitErrorHandler);
  app.get('/', async (request) => {
    const ctx: RequestContext = request.ctx;
    const tenant: 'acme' | 'globex' | undefined = ctx.get(tenantId);
    // @ts-expect-error request.ctx is a RequestContext, not any
    request.ctx.nope();
    return { traceId: ctx.traceId, tenant, left: ctx.remainingMs(), same: currentContext() === ctx };
  });
}

export function service(): express.Express {
  const app = express();
  app.use(ctxkitExpress({ trust: 'internal', defaultTimeoutMs: 1_000 }));
  app.get('/', (req, res) => {
    const userId: string | undefined = req.ctx.userId;
    // @ts-expect-error req.ctx is a RequestContext, not any
    req.ctx.nope();
    res.json({ userId, signal: req.ctx.signal.aborted });
  });
  app.use(expressErrors({ logger: false }));
  return app;
}

export function grpcServer(): Server {
  const server = new Server({ interceptors: [serverInterceptor()] });
  const impl = wrapService({
    async Get() {
      if (tryCurrentContext()?.userId === undefined) throw statusError(Status.UNAUTHENTICATED, 'sign in');
      return withTimeout(100, async () => ({ ok: true }));
    },
  });
  void impl;
  void clientInterceptor();
  return server;
}

export async function elsewhere(): Promise<number> {
  withValue(tenantId, 'acme', () => undefined);
  // @ts-expect-error a key's values are strings
  withValue(tenantId, 42, () => undefined);
  void ctxkitPropagator();
  const res = await ctxFetch('http://127.0.0.1:1/');
  return errorResponse(new Error('x')).status + res.status;
}
