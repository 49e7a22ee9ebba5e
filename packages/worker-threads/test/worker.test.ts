import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CancelledError, createContext, DeadlineExceededError, defineKey, runWithContext, withCancel, withTimeout } from '@ctxkit/core';
import { createTaskClient, TASK_MARK, type TaskClient } from '../src/index.js';

const tenantId = defineKey('tenant-id');
type Seen = { traceId: string; requestId: string; userId?: string; tenant?: string; deadline?: number };

let worker: Worker;
let tasks: TaskClient;
beforeAll(async () => {
  worker = new Worker(new URL('./fixtures/task-worker.mjs', import.meta.url));
  await once(worker, 'online');
  tasks = createTaskClient(worker);
});
afterAll(async () => {
  tasks?.close();
  await worker?.terminate();
});

/** The next message the worker posts that has `field`. */
function next(field: string): Promise<Record<string, unknown>> {
  return new Promise((resolve) => {
    const on = (m: Record<string, unknown>) => {
      if (m !== null && typeof m === 'object' && field in m) {
        worker.off('message', on);
        resolve(m);
      }
    };
    worker.on('message', on);
  });
}

describe('tasks in a worker thread', () => {
  it('run with the caller\'s ids, user, keys and deadline', async () => {
    const caller = createContext({ userId: 'alice', values: { [tenantId.name]: 'acme' }, timeoutMs: 5000 });
    const sent = Date.now();
    const got = await runWithContext(caller, () => tasks.run<Seen>({ kind: 'seen' }));
    const transit = Date.now() - sent;
    expect(got).toMatchObject({ traceId: caller.traceId, requestId: caller.requestId, userId: 'alice', tenant: 'acme' });
    expect(got.deadline).toBeGreaterThan(caller.deadline! - 1000);
    expect(got.deadline).toBeLessThanOrEqual(caller.deadline! + transit); // whole ms left, counted on arrival
    caller.end();
  });

  it('a cancelled caller aborts the task in the worker', async () => {
    const started = next('started');
    const aborted = next('aborted');
    const result = withCancel((cancel) => {
      void started.then(() => cancel());
      return tasks.run({ kind: 'wait', n: 1 });
    }).catch((e: unknown) => e);
    expect(await result).toBeInstanceOf(CancelledError);
    expect(await aborted).toEqual({ aborted: 1, code: 'CANCELLED' });
    expect(tasks.pending).toBe(0);
  });

  it('the caller\'s deadline is the task\'s: both end DEADLINE_EXCEEDED', async () => {
    const aborted = next('aborted');
    const result = await withTimeout(200, () => tasks.run({ kind: 'wait', n: 2 })).catch((e: unknown) => e);
    expect(result).toBeInstanceOf(DeadlineExceededError);
    expect((await aborted).code).toBe('DEADLINE_EXCEEDED');
  });

  it('a context with no time left posts nothing', async () => {
    const ctx = createContext({ timeoutMs: 0 });
    await expect(runWithContext(ctx, () => tasks.run({ kind: 'seen' }))).rejects.toBeInstanceOf(DeadlineExceededError);
    expect(tasks.pending).toBe(0);
  });

  it('a task\'s error comes back to the caller', async () => {
    await expect(runWithContext(createContext(), () => tasks.run({ kind: 'throw' }))).rejects.toThrowError(expect.objectContaining({ name: 'TypeError', message: 'bad task' }));
  });
});

describe('hostile task messages', () => {
  it('bad carried values are dropped with a reason; malformed messages never stop the worker', async () => {
    const drops: string[] = [];
    const onDrop = (m: { drop?: string }) => {
      if (m?.drop !== undefined) drops.push(m.drop);
    };
    worker.on('message', onDrop);
    const results: unknown[] = [];
    const onResult = (m: Record<string, unknown>) => {
      if (m?.[TASK_MARK] === 'result') results.push(m);
    };
    worker.on('message', onResult);
    worker.postMessage({ [TASK_MARK]: 'run', id: 9001, carrier: { 'user-id': 'admin\r\nx', 'tenant-id': 'caf\u00e9', 'trace-id': 'a'.repeat(300), 'request-timeout-ms': '-5', 'x-role': 'root' }, task: { kind: 'seen' } });
    worker.postMessage({ [TASK_MARK]: 'run', id: 9002, carrier: ['admin'], task: { kind: 'seen' } });
    worker.postMessage({ [TASK_MARK]: 'run', id: 'x', task: {} });
    worker.postMessage({ [TASK_MARK]: 'explode', id: 1 });
    worker.postMessage({ [TASK_MARK]: 'run', id: 9003, carrier: { 'user-id': 7, 'tenant-id': { a: 1 } }, task: { kind: 'seen' } });
    worker.postMessage({ unrelated: true });
    // A well-formed task after them is served as usual.
    const caller = createContext({ userId: 'bob' });
    expect((await runWithContext(caller, () => tasks.run<Seen>({ kind: 'seen' }))).userId).toBe('bob');
    worker.off('message', onDrop);
    worker.off('message', onResult);
    const values = (results as { id: number; value: Seen }[]).filter((r) => r.id > 9000).sort((a, b) => a.id - b.id);
    expect(values.map((r) => [r.value.userId, r.value.tenant, r.value.deadline])).toEqual([
      [undefined, undefined, undefined],
      [undefined, undefined, undefined],
      [undefined, undefined, undefined],
    ]);
    expect(drops.sort()).toEqual([
      'ctxkit.task: task context not an object',
      'ctxkit.task: task id is not an integer',
      'ctxkit.task: unknown task message kind',
      'request-timeout-ms: negative timeout',
      'tenant-id: not a string',
      'tenant-id: not printable ASCII (or blank at an end)',
      'trace-id: longer than 128 characters',
      'user-id: contains CR or LF',
      'user-id: not a string',
    ]);
  });
});

describe('10,000 tasks', () => {
  it('each runs in its caller\'s context; nothing is left pending or listening', async () => {
    const N = 10_000;
    let mismatches = 0;
    for (let batch = 0; batch < N; batch += 1000) {
      await Promise.all(
        Array.from({ length: 1000 }, async (_, j) => {
          const ctx = createContext({ userId: `u${batch + j}`, timeoutMs: 30_000 });
          const user = await runWithContext(ctx, () => tasks.run({ kind: 'echo-user' }));
          if (user !== `u${batch + j}`) mismatches++;
          ctx.end();
        }),
      );
    }
    expect(mismatches).toBe(0);
    expect(tasks.pending).toBe(0);
    expect(worker.listenerCount('message')).toBe(1);
  }, 60_000);
});
