/**
 * The asynchronous chain, every part real: a Fastify gateway → NATS request-reply → a service that
 * enqueues a BullMQ job (Redis) → a worker that hands a task to a worker thread. Every hop reports
 * the ids it saw; the reply side works under the caller's budget; the job runs after the response
 * was sent, detached, with the same ids.
 */
import { once } from 'node:events';
import { Worker as Thread } from 'node:worker_threads';
import { Queue, Worker } from 'bullmq';
import Fastify, { type FastifyInstance } from 'fastify';
import { connect, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { currentContext, DeadlineExceededError } from '@ctxkit/core';
import { contextProcessor, enqueue } from '@ctxkit/bullmq';
import { ctxkit, ctxkitErrorHandler } from '@ctxkit/fastify';
import { request, subscribe } from '@ctxkit/nats';
import { createTaskClient, type TaskClient } from '@ctxkit/worker';
import { startNats, startRedis, type TestServer } from '@ctxkit/test-support/servers';

type Hop = { hop: string; traceId: string; requestId: string; userId: string | undefined; deadline: number | undefined; at: number };
const hops: Hop[] = [];
function report(hop: string): void {
  const ctx = currentContext();
  hops.push({ hop, traceId: ctx.traceId, requestId: ctx.requestId, userId: ctx.userId, deadline: ctx.deadline, at: Date.now() });
}

let nats: TestServer;
let redis: TestServer;
let gatewayNc: NatsConnection;
let ordersNc: NatsConnection;
let gateway: FastifyInstance;
let queue: Queue<{ orderId: string }>;
let jobs: Worker<{ orderId: string }>;
let thread: Thread;
let tasks: TaskClient;
let base: string;
const responsesSent: number[] = [];
let responded!: () => void;
const firstResponse = new Promise<void>((resolve) => {
  responded = resolve;
});
const receipts: Record<string, unknown>[] = [];
let receiptDone!: () => void;
let slowAborted!: (reason: unknown) => void;

beforeAll(async () => {
  [nats, redis] = await Promise.all([startNats(), startRedis()]);
  const connection = { host: '127.0.0.1', port: redis.port, maxRetriesPerRequest: null };
  [gatewayNc, ordersNc] = await Promise.all([connect({ servers: nats.address }), connect({ servers: nats.address })]);
  thread = new Thread(new URL('./receipt-worker.mjs', import.meta.url));
  await once(thread, 'online');
  tasks = createTaskClient(thread);

  // orders: a NATS responder that enqueues the receipt job.
  queue = new Queue('receipts', { connection });
  let orders = 0;
  subscribe(
    ordersNc,
    'orders.place',
    async (msg) => {
      report('orders');
      const orderId = `ord-${++orders}`;
      await enqueue(queue, 'receipt', { orderId });
      msg.respond(JSON.stringify({ orderId }));
    },
    { trust: 'internal', queue: 'orders' },
  );
  subscribe(
    ordersNc,
    'orders.slow',
    async () => {
      report('orders-slow');
      const { signal } = currentContext();
      if (!signal.aborted) await once(signal, 'abort');
      slowAborted(signal.reason);
    },
    { trust: 'internal' },
  );
  await ordersNc.flush();

  // The job worker: renders the receipt in a worker thread, after the response went out.
  jobs = new Worker(
    'receipts',
    contextProcessor(
      async (job) => {
        report('job');
        await firstResponse; // the work goes on after the request was answered and ended
        const receipt = await tasks.run<Record<string, unknown>>({ orderId: job.data.orderId });
        receipts.push({ ...receipt, ranAt: Date.now() });
        receiptDone();
      },
      { trust: 'internal' },
    ),
    { connection },
  );

  // The gateway: Fastify with ctxkit; the user from a stand-in bearer token.
  gateway = Fastify();
  await gateway.register(ctxkit, {
    defaultTimeoutMs: 3000,
    resolveUser: (req) => (req.headers.authorization === 'Bearer token-alice' ? 'alice' : undefined),
  });
  gateway.setErrorHandler(ctxkitErrorHandler); // a NATS timeout as 504, as ctxkit maps it
  gateway.addHook('onResponse', async () => {
    responsesSent.push(Date.now());
    responded();
  });
  gateway.post('/orders', async () => {
    report('gateway');
    return (await request(gatewayNc, 'orders.place', '{}')).json();
  });
  gateway.post('/slow', async () => {
    report('gateway-slow');
    return (await request(gatewayNc, 'orders.slow', '{}')).json();
  });
  base = await gateway.listen({ host: '127.0.0.1', port: 0 });
});

afterAll(async () => {
  await gateway?.close();
  await jobs?.close();
  await queue?.close();
  tasks?.close();
  await thread?.terminate();
  await gatewayNc?.close();
  await ordersNc?.close();
  await Promise.all([nats?.stop(), redis?.stop()]);
});

describe('gateway → NATS request-reply → BullMQ job → worker thread', () => {
  it('every hop sees the same trace, request and user ids; the job runs detached after the response', async () => {
    const done = new Promise<void>((resolve) => {
      receiptDone = resolve;
    });
    const res = await fetch(`${base}/orders`, {
      method: 'POST',
      headers: { authorization: 'Bearer token-alice', traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', 'user-id': 'admin' },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ orderId: 'ord-1' });
    await done;
    const byHop = Object.fromEntries(hops.map((h) => [h.hop, h]));
    const gatewayHop = byHop.gateway!;
    expect(gatewayHop.traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(gatewayHop.userId).toBe('alice'); // from the token, not the spoofed header
    for (const hop of [byHop.orders!, byHop.job!, receipts[0] as Hop]) {
      expect(hop).toMatchObject({ traceId: gatewayHop.traceId, requestId: gatewayHop.requestId, userId: 'alice' });
    }
    // The reply side ran under the caller's budget (whole ms left, counted from its arrival, so
    // never later than the caller's deadline by more than the transit); the job and its task carry none.
    expect(byHop.orders!.deadline).toBeLessThanOrEqual(gatewayHop.deadline! + (byHop.orders!.at - gatewayHop.at));
    expect(byHop.orders!.deadline).toBeGreaterThan(gatewayHop.deadline! - 1000);
    expect(byHop.job!.deadline).toBeUndefined();
    expect(receipts[0]).toMatchObject({ deadline: undefined, aborted: false });
    expect(receipts[0]!.ranAt as number).toBeGreaterThanOrEqual(responsesSent[0]!);
  });

  it('a slow responder is cut at the gateway\'s deadline: 504 at the edge, its own context aborted', async () => {
    const aborted = new Promise<unknown>((resolve) => {
      slowAborted = resolve;
    });
    const t0 = Date.now();
    const res = await fetch(`${base}/slow`, { method: 'POST', headers: { 'request-timeout-ms': '300' } });
    expect(res.status).toBe(504);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    expect(await aborted).toBeInstanceOf(DeadlineExceededError);
    const edge = hops.find((h) => h.hop === 'gateway-slow')!;
    const responder = hops.find((h) => h.hop === 'orders-slow')!;
    expect(responder).toMatchObject({ traceId: edge.traceId, requestId: edge.requestId });
    expect(responder.deadline! - edge.deadline!).toBeLessThanOrEqual(responder.at - edge.at);
  });
});
