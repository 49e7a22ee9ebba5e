// The fulfilment service: the asynchronous leg of an order. It consumes the `orders.created`
// event (NATS) and enqueues a receipt job (BullMQ on Redis); its worker runs the job. Both run in
// the order's context, with its trace, request and user ids, detached from the request's budget:
// the request was answered before they ran.
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue, Worker } from 'bullmq';
import { connect } from 'nats';
import { currentContext } from '@ctxkit/core';
import { contextProcessor, enqueue } from '@ctxkit/bullmq';
import { subscribe } from '@ctxkit/nats';
import { onShutdown, reportReady, serviceLog, withHop } from '@ctxkit-examples/shared';
import { stopTelemetry } from './otel.ts';

const log = serviceLog('fulfilment');
const nc = await connect({ servers: process.env.NATS_URL ?? '127.0.0.1:4222' });
const connection = { host: '127.0.0.1', port: Number(process.env.REDIS_PORT ?? 6379), maxRetriesPerRequest: null };
const receipts = new Queue<{ orderId: string }>('receipts', { connection });

// Orders publishes the event; only our services publish on this subject, so ids and user are trusted.
subscribe(
  nc,
  'orders.created',
  (msg) =>
    withHop('fulfilment', async () => {
      const { orderId } = msg.json<{ orderId: string }>();
      await enqueue(receipts, 'receipt', { orderId }, { attempts: 3, removeOnComplete: true });
      log.info({ orderId }, 'receipt job enqueued');
    }),
  { trust: 'internal', queue: 'fulfilment' },
);

const worker = new Worker<{ orderId: string }>(
  'receipts',
  contextProcessor(
    (job) =>
      withHop('receipt-job', async () => {
        await sleep(20); // renders and mails the receipt
        log.info({ orderId: job.data.orderId, user: currentContext().userId }, 'receipt sent');
      }),
    { trust: 'internal' },
  ),
  { connection },
);
await worker.waitUntilReady();
await nc.flush();

onShutdown(log, async () => {
  await worker.close();
  await receipts.close();
  await nc.drain();
  await stopTelemetry();
});
reportReady('fulfilment', 0); // listens on no port: it consumes
