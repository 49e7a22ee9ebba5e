import type { MessagePort, Transferable, Worker } from 'node:worker_threads';
import { CancelledError, DeadlineExceededError, type MissingContextMode, tryCurrentContext } from '@ctxkit/core';
import { reportLostContext } from '@ctxkit/core/adapter';
import { carrierOf, type ResultMessage, TASK_MARK } from './protocol.js';

/** Options of {@link TaskClient.run}. */
export interface RunOptions {
  /** Moved, not copied, to the worker (`postMessage`'s transfer list). */
  readonly transferList?: readonly Transferable[] | undefined;
}

/** Options of {@link createTaskClient}. */
export interface TaskClientOptions {
  /**
   * A task posted outside any request context, or under one that has already ended (a callback
   * kept from a finished request): `'throw'`, `'warn'` (default, once per call site) or `'ignore'`.
   */
  readonly missingContext?: MissingContextMode | undefined;
}

/** Posts tasks to one worker (served by {@link serveTasks}) and awaits their results. */
export interface TaskClient {
  /**
   * Runs `task` in the worker in the caller's context: ids, user and keys, the remaining budget
   * as the task's deadline, and the caller's cancellation (an aborted context rejects at once
   * with its reason and aborts the task's context in the worker).
   */
  run<R = unknown>(task: unknown, options?: RunOptions): Promise<R>;
  /** Tasks posted and not settled yet. */
  readonly pending: number;
  /** Stops listening to the worker; pending tasks reject with {@link CancelledError}. */
  close(): void;
}

type Pending = { resolve(value: unknown): void; reject(error: unknown): void; signal: AbortSignal | undefined; onAbort: (() => void) | undefined };

/**
 * A client for the tasks a worker serves with {@link serveTasks}. One per worker; it listens to
 * the worker's messages until {@link TaskClient.close}, and rejects what is pending if the worker
 * exits.
 *
 * @example
 * const worker = new Worker(new URL('./resize.js', import.meta.url));
 * const tasks = createTaskClient(worker);
 * const thumb = await tasks.run({ image }, { transferList: [image.buffer] }); // in the request's context
 */
export function createTaskClient(worker: Worker | MessagePort, options: TaskClientOptions = {}): TaskClient {
  const missing = options.missingContext ?? 'warn';
  const pending = new Map<number, Pending>();
  let nextId = 0;

  function settle(id: number): Pending | undefined {
    const p = pending.get(id);
    if (p === undefined) return undefined;
    pending.delete(id);
    if (p.onAbort !== undefined) p.signal!.removeEventListener('abort', p.onAbort);
    return p;
  }
  function onMessage(message: unknown): void {
    if (message === null || typeof message !== 'object' || (message as ResultMessage)[TASK_MARK] !== 'result') return;
    const result = message as ResultMessage;
    const p = settle(result.id);
    if (p === undefined) return; // given up on already
    if (result.ok) p.resolve(result.value);
    else p.reject(errorOf(result.error));
  }
  function onExit(): void {
    for (const id of [...pending.keys()]) settle(id)!.reject(new CancelledError('the worker exited before the task finished'));
  }
  worker.on('message', onMessage);
  worker.on('exit', onExit);
  worker.on('close', onExit);

  return {
    run<R>(task: unknown, runOptions: RunOptions = {}): Promise<R> {
      const ctx = tryCurrentContext();
      reportLostContext(missing, 'worker task', ctx);
      const signal = ctx?.signal;
      if (signal?.aborted) return Promise.reject(signal.reason);
      const now = Date.now();
      if (ctx?.deadline !== undefined && ctx.deadline - now < 1) return Promise.reject(new DeadlineExceededError());
      const id = ++nextId;
      return new Promise<R>((resolve, reject) => {
        const p: Pending = { resolve: resolve as (v: unknown) => void, reject, signal, onAbort: undefined };
        if (signal !== undefined) {
          p.onAbort = () => {
            settle(id);
            // Why the caller gave up: its deadline fires a little before the worker's (the budget is
            // counted from arrival), and the task must end with the caller's reason.
            worker.postMessage({ [TASK_MARK]: 'cancel', id, deadline: signal.reason instanceof DeadlineExceededError });
            reject(signal.reason);
          };
          signal.addEventListener('abort', p.onAbort, { once: true });
        }
        pending.set(id, p);
        const carrier = ctx === undefined ? {} : carrierOf(ctx, now);
        worker.postMessage({ [TASK_MARK]: 'run', id, carrier, task }, runOptions.transferList as Transferable[] | undefined);
      });
    },
    get pending() {
      return pending.size;
    },
    close() {
      worker.off('message', onMessage);
      worker.off('exit', onExit);
      worker.off('close', onExit);
      onExit();
    },
  };
}

/** The error a worker reported, as the caller sees it: ctxkit's own errors keep their class. */
function errorOf(error: ResultMessage['error']): Error {
  if (error?.code === 'DEADLINE_EXCEEDED') return new DeadlineExceededError(error.message);
  if (error?.code === 'CANCELLED') return new CancelledError(error.message);
  const out = new Error(error?.message ?? 'the task failed');
  out.name = error?.name ?? 'Error';
  return out;
}
