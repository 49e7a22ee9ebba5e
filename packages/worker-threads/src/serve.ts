import { type MessagePort, parentPort } from 'node:worker_threads';
import { CancelledError, DeadlineExceededError, type DropHandler, type OwnedContext, runWithContext, type TrustOption } from '@ctxkit/core';
import { compileExtractor } from '@ctxkit/core/adapter';
import { type ResultMessage, TASK_MARK, type TaskMessage, taskCarrierGetter } from './protocol.js';

/** Options of {@link serveTasks}. */
export interface ServeOptions {
  /**
   * Which keys the worker honours from the code posting tasks. Default `'internal'`: a worker is
   * started by your own code. A worker serving tasks from elsewhere declares less.
   */
  readonly trust?: TrustOption | undefined;
  /** Longest budget a task may carry, ms; a longer one is shortened to it. Default: none. */
  readonly maxTimeoutMs?: number | undefined;
  /** Receives every dropped carried value (and every malformed task message). Default: core's counter. */
  readonly onDrop?: DropHandler<unknown> | undefined;
  /** The port to serve; default `parentPort`. */
  readonly port?: MessagePort | undefined;
}

type Refused = { readonly key: string; readonly reason: string };

/** Stops serving tasks; tasks running go on. */
export type StopServing = () => void;

/**
 * Serves the tasks a {@link createTaskClient} posts: each runs `handler(task)` in the caller's
 * context (ids, user, the keys `trust` allows, the caller's remaining budget as its deadline),
 * and a caller that gives up aborts the task's context (`currentContext().signal`). The result,
 * or the error, goes back to the caller. Messages that are not tasks are left to other listeners;
 * malformed tasks are dropped with a reason, never a crash.
 *
 * @example
 * // worker.js
 * serveTasks(async ({ image }) => resize(image, { signal: currentContext().signal }));
 */
export function serveTasks(handler: (task: any) => unknown, options: ServeOptions = {}): StopServing {
  const port = options.port ?? parentPort;
  if (port === null) throw new Error('ctxkit: serveTasks runs in a worker thread (no parentPort here); pass a port');
  const extract = compileExtractor<unknown>({ trust: options.trust ?? 'internal', maxTimeoutMs: options.maxTimeoutMs, onDrop: options.onDrop });
  const running = new Map<number, OwnedContext>();

  function post(message: ResultMessage): void {
    try {
      port!.postMessage(message);
    } catch (error) {
      // A result that cannot be cloned (a function, a socket) fails the task instead.
      port!.postMessage({ [TASK_MARK]: 'result', id: message.id, ok: false, error: errorFields(error) });
    }
  }

  async function run(message: TaskMessage, carrier: Readonly<Record<string, unknown>> | undefined, refused?: Refused): Promise<void> {
    const ctx = extract(taskCarrierGetter, carrier, { origin: message, refused });
    if (ctx.deadline !== undefined) void ctx.signal; // arms the deadline timer
    running.set(message.id, ctx);
    try {
      const value = await runWithContext(ctx, handler, message.task);
      post({ [TASK_MARK]: 'result', id: message.id, ok: true, value });
    } catch (error) {
      post({ [TASK_MARK]: 'result', id: message.id, ok: false, error: errorFields(error) });
    } finally {
      running.delete(message.id);
      ctx.end();
    }
  }

  function onMessage(message: unknown): void {
    if (message === null || typeof message !== 'object') return;
    const kind = (message as Record<string, unknown>)[TASK_MARK];
    if (kind === undefined) return; // someone else's message
    const id = (message as { id?: unknown }).id;
    if (typeof id !== 'number' || !Number.isSafeInteger(id)) {
      malformed('task id is not an integer', message);
      return;
    }
    if (kind === 'cancel') {
      const deadline = (message as { deadline?: unknown }).deadline === true;
      running.get(id)?.cancel(deadline ? new DeadlineExceededError() : new CancelledError());
      return;
    }
    if (kind !== 'run') {
      malformed('unknown task message kind', message);
      return;
    }
    const carrier = (message as { carrier?: unknown }).carrier;
    if (carrier !== undefined && (carrier === null || typeof carrier !== 'object' || Array.isArray(carrier))) {
      void run(message as TaskMessage, undefined, { key: TASK_MARK, reason: 'task context not an object' });
      return;
    }
    void run(message as TaskMessage, carrier as Readonly<Record<string, unknown>> | undefined);
  }

  // A message that cannot be a task is dropped through the one drop path: a context is built
  // (from nothing) only to carry the report's ids, then ended. Hostile input only.
  function malformed(reason: string, message: unknown): void {
    extract(taskCarrierGetter, undefined, { origin: message, refused: { key: TASK_MARK, reason } }).end();
  }

  port.on('message', onMessage);
  return () => {
    port.off('message', onMessage);
  };
}

function errorFields(error: unknown): ResultMessage['error'] {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return { name: error.name, message: error.message, code: typeof code === 'string' ? code : undefined };
  }
  return { name: 'Error', message: String(error) };
}
