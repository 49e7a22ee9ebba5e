import { type Job, Queue, Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContext, currentContext, defineKey, type Drop, runWithContext } from '@ctxkit/core';
import { CARRIER_FIELD, contextProcessor, enqueue, type ProcessorOptions } from '../src/index.js';
import { startRedis, type TestServer } from '@ctxkit/test-support/servers';

const tenantId = defineKey('tenant-id');

type Seen = { traceId: string; requestId: string; userId: string | undefined; tenant: string | undefined; deadline: number | undefined; aborted: boolean };
function seen(): Seen {
  const ctx = currentContext();
  return { traceId: ctx.traceId, requestId: ctx.requestId, userId: ctx.userId, tenant: ctx.get(tenantId), deadline: ctx.deadline, aborted: ctx.signal.aborted };
}

let redis: TestServer;
let connection: { host: string; port: number; maxRetriesPerRequest: null };
const closing: { close(): Promise<void> }[] = [];
let queues = 0;

beforeAll(async () => {
  redis = await startRedis();
  connection = { host: '127.0.0.1', port: redis.port, maxRetriesPerRequest: null };
});
afterAll(async () => {
  for (const c of closing.reverse()) await c.close();
  await redis?.stop();
});

/** A queue of its own and a worker running `fn` for each job, in the job's context. */
function queueWithWorker<T extends object>(fn: (job: Job<T>) => unknown, options: ProcessorOptions, concurrency = 1) {
  const name = `q${++queues}`;
  const queue = new Queue<T>(name, { connection });
  const worker = new Worker<T>(name, contextProcessor(async (job: Job<T>) => fn(job), options), { connection, concurrency });
  closing.push(queue, worker);
  return { queue, worker };
}

describe('enqueue and process', () => {
  it('runs the job with the ids, user and keys of the request that enqueued it, after that request ended', async () => {
    let release!: () => void;
    const requestEnded = new Promise<void>((resolve) => {
      release = resolve;
    });
    let ranWith!: (s: Seen) => void;
    const ran = new Promise<Seen>((resolve) => {
      ranWith = resolve;
    });
    const { queue } = queueWithWorker<{ orderId: string }>(
      async () => {
        await requestEnded; // the response went out before the job ran
        ranWith(seen());
      },
      { trust: 'internal' },
    );
    const request = createContext({ userId: 'alice', values: { tenantId: 'acme' }, timeoutMs: 100 });
    const job = await runWithContext(request, () => enqueue(queue, 'refund', { orderId: 'ord-1' }));
    expect(job.data.orderId).toBe('ord-1');
    request.cancel(); // the request is over: answered, then its context cancelled and ended
    request.end();
    release();
    const worker = await ran;
    expect(worker).toMatchObject({ traceId: request.traceId, requestId: request.requestId, userId: 'alice', tenant: 'acme' });
    expect(worker.deadline).toBeUndefined();
    expect(worker.aborted).toBe(false);
  });

  it('every retry of a job runs with the same ids', async () => {
    const attempts: Seen[] = [];
    let done!: () => void;
    const finished = new Promise<void>((resolve) => {
      done = resolve;
    });
    const { queue } = queueWithWorker(
      (job) => {
        attempts.push(seen());
        if (job.attemptsMade === 0) throw new Error('first attempt fails');
        done();
      },
      { trust: 'internal' },
    );
    const request = createContext({ userId: 'bob' });
    await runWithContext(request, () => enqueue(queue, 'charge', {}, { attempts: 3 }));
    await finished;
    expect(attempts).toHaveLength(2);
    for (const a of attempts) expect(a).toMatchObject({ traceId: request.traceId, requestId: request.requestId, userId: 'bob' });
  });

  it('a queue trusting only trace ids does not take the user from its producers', async () => {
    const ran = new Promise<Seen>((resolve) => {
      const { queue } = queueWithWorker(() => resolve(seen()), { trust: 'edge' });
      void runWithContext(createContext({ userId: 'mallory', traceId: '4bf92f3577b34da6a3ce929d0e0e4736' }), () => enqueue(queue, 'x', {}));
    });
    const worker = await ran;
    expect(worker.traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(worker.userId).toBeUndefined();
  });

  it('an enqueue under a request that already ended is reported, naming the call site and the request', () => {
    const queue = new Queue('late', { connection });
    closing.push(queue);
    const request = createContext();
    request.end();
    expect(() => runWithContext(request, () => enqueue(queue, 'late', {}, { missingContext: 'throw' }))).toThrowError(
      new RegExp(`BullMQ enqueue of late to late at .*bullmq\\.test\\.ts:\\d+.* request ${request.requestId}`),
    );
  });

  it('refuses data that cannot carry the context, and reports an enqueue outside any context', () => {
    const queue = new Queue('refuse', { connection });
    closing.push(queue);
    expect(() => runWithContext(createContext(), () => enqueue(queue, 'x', 'text' as unknown as object))).toThrowError(
      'ctxkit: job data must be a plain object to carry the context, got a string',
    );
    expect(() => enqueue(queue, 'x', {}, { missingContext: 'throw' })).toThrowError(/BullMQ enqueue of x to refuse outside any request context/);
  });
});

describe('hostile producers', () => {
  it('drops bad carried values with a reason, runs every job, and forwards nothing bad', async () => {
    const drops: Drop[] = [];
    const onward = new Queue('onward', { connection });
    closing.push(onward);
    const users: (string | undefined)[] = [];
    let done!: () => void;
    const all = new Promise<void>((resolve) => {
      done = resolve;
    });
    const hostile: unknown[] = [
      { [CARRIER_FIELD]: { 'trace-id': 'a'.repeat(300), 'user-id': 'admin\r\nx-role: root', 'tenant-id': 'caf\u00e9' } },
      { [CARRIER_FIELD]: { 'user-id': 42, 'tenant-id': { nested: true }, 'x-role': 'admin' } },
      JSON.parse(`{"${CARRIER_FIELD}": {"__proto__": {"user-id": "admin"}, "constructor": "x"}}`),
      { [CARRIER_FIELD]: 'user-id=admin' },
      { [CARRIER_FIELD]: ['admin'] },
      'not an object at all',
      null,
    ];
    const { queue } = queueWithWorker<object>(
      async () => {
        users.push(currentContext().userId);
        await enqueue(onward, 'next', {});
        if (users.length === hostile.length) done();
      },
      { trust: 'internal', onDrop: (drop) => drops.push(drop) },
    );
    for (const data of hostile) await queue.add('raw', data as object);
    await all;
    expect(users).toEqual(hostile.map(() => undefined));
    expect(drops.map((d) => `${d.key}: ${d.reason}`).sort()).toEqual([
      '_ctxkit: job context not an object',
      '_ctxkit: job context not an object',
      'tenant-id: not a string',
      'tenant-id: not printable ASCII (or blank at an end)',
      'trace-id: longer than 128 characters',
      'user-id: contains CR or LF',
      'user-id: not a string',
    ]);
    const forwarded = await onward.getJobs(['waiting']);
    expect(forwarded).toHaveLength(hostile.length);
    // Only the consumer's own ids, and the traceparent every outgoing hop carries: nothing hostile.
    for (const job of forwarded) {
      expect(Object.keys(job.data[CARRIER_FIELD]).sort()).toEqual(['request-id', 'trace-id', 'traceparent']);
      expect(job.data[CARRIER_FIELD].traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[02]$/);
    }
  });
});

describe('10,000 jobs', () => {
  it('each runs in the context that enqueued it; nothing is left behind', async () => {
    const N = 10_000;
    let mismatches = 0;
    let ran = 0;
    let done!: () => void;
    const all = new Promise<void>((resolve) => {
      done = resolve;
    });
    const { queue, worker } = queueWithWorker<{ i: number }>(
      async (job) => {
        await Promise.resolve();
        const ctx = currentContext();
        if (ctx.userId !== `u${job.data.i}` || ctx.get(tenantId) !== `t${job.data.i}`) mismatches++;
        if (++ran === N) done();
      },
      { trust: 'internal' },
      50,
    );
    const timersBefore = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    for (let batch = 0; batch < N; batch += 500) {
      await Promise.all(
        Array.from({ length: 500 }, (_, j) => {
          const i = batch + j;
          const ctx = createContext({ userId: `u${i}`, values: { tenantId: `t${i}` } });
          return runWithContext(ctx, () => enqueue(queue, 'bulk', { i }, { removeOnComplete: true }));
        }),
      );
    }
    await all;
    expect(ran).toBe(N);
    expect(mismatches).toBe(0);
    await worker.close();
    const counts = await queue.getJobCounts('active', 'waiting', 'failed');
    expect(counts).toEqual({ active: 0, waiting: 0, failed: 0 });
    expect(process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length).toBeLessThanOrEqual(timersBefore);
  }, 120_000);
});
