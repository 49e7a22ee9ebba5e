// What a consumer writes, type-checked against the packed tarballs in every module mode. Lines
// marked @ts-expect-error must fail to compile: a typing that got looser fails the check too.
import { currentContext, defineKey, type RequestContext, tryCurrentContext, withTimeout, withValue } from '@ctxkit/core';
import { ctxFetch } from '@ctxkit/core/fetch';
import { errorResponse } from '@ctxkit/core/adapter';
import { ctxkitPropagator } from '@ctxkit/core/otel';
import { ctxkit as ctxkitExpress, ctxkitErrorHandler as expressErrors } from '@ctxkit/express';
import { composeErrorHandler, ctxkit, ctxkitErrorHandler } from '@ctxkit/fastify';
import { clientInterceptor, serverInterceptor, Status, statusError, wrapService } from '@ctxkit/grpc';
import { contextProcessor, enqueue, type JobProcessor } from '@ctxkit/bullmq';
import { type ConsumerOptions, messageHandler, publish, request, subscribe } from '@ctxkit/nats';
import { createTaskClient, serveTasks, type StopServing, type TaskClient } from '@ctxkit/worker';
import { Server } from '@grpc/grpc-js';
import { type Job, Queue, Worker as JobWorker } from 'bullmq';
import express from 'express';
import { fastify } from 'fastify';
import type { Msg, NatsConnection, Subscription } from 'nats';
import type { Worker } from 'node:worker_threads';

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

export async function stock(nc: NatsConnection): Promise<Subscription> {
  const options: ConsumerOptions = { trust: 'internal', maxTimeoutMs: 5_000 };
  const reserve = messageHandler((msg: Msg) => ({ sku: msg.string(), traceId: currentContext().traceId }), options, nc);
  const reserved: Promise<{ sku: string; traceId: string }> = reserve({} as Msg);
  void reserved;
  publish(nc, 'stock.changed', JSON.stringify({ sku: 'a-1' }), { allow: (key) => key !== 'user-id' });
  const reply: Msg = await request(nc, 'stock.reserve', JSON.stringify({ sku: 'a-1' }), { timeoutMs: 500 });
  void reply;
  // @ts-expect-error what a subject's producers may claim is a decision: trust is required
  subscribe(nc, 'stock.reserve', () => undefined, { queue: 'stock' });
  return subscribe(nc, 'stock.reserve', (msg) => msg.respond(msg.data), { trust: 'edge', queue: 'stock', onError: (error, msg) => void [error, msg?.subject] });
}

interface Refund {
  orderId: string;
}

export async function compensations(): Promise<number> {
  const connection = { host: '127.0.0.1', port: 6379 };
  const queue = new Queue<Refund, number, 'refund'>('compensations', { connection });
  const processor: JobProcessor<Refund, number> = contextProcessor(async (job) => job.data.orderId.length + (tryCurrentContext()?.userId === undefined ? 0 : 1), { trust: 'internal' });
  const worker = new JobWorker<Refund, number>('compensations', processor, { connection });
  const job: Job<Refund, number, 'refund'> = await enqueue(queue, 'refund', { orderId: 'o-1' }, { attempts: 3, missingContext: 'throw' });
  // @ts-expect-error the job's data is the queue's
  await enqueue(queue, 'refund', { order: 1 });
  // @ts-expect-error a worker declares what its producers may claim
  contextProcessor(async () => 0, {});
  await worker.close();
  return job.data.orderId.length;
}

export async function thumbnail(worker: Worker): Promise<Uint8Array> {
  const tasks: TaskClient = createTaskClient(worker, { missingContext: 'throw' });
  const image = new ArrayBuffer(8);
  const thumb = await tasks.run<Uint8Array>({ image }, { transferList: [image] });
  // @ts-expect-error a missing context is 'throw', 'warn' or 'ignore'
  createTaskClient(worker, { missingContext: 'sometimes' });
  tasks.close();
  return thumb;
}

export function resizer(): StopServing {
  return serveTasks(async (task: { image: ArrayBuffer }) => new Uint8Array(task.image).subarray(0, currentContext().remainingMs()), { trust: 'internal', maxTimeoutMs: 2_000 });
}
