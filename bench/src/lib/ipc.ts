/** Child side of the IPC protocol that `Child` in children.ts drives. */

type Handler = (payload: any) => unknown;

interface Request {
  readonly id: number;
  readonly cmd: string;
  readonly payload: unknown;
}

function send(msg: unknown): void {
  if (process.connected) process.send?.(msg);
}

/**
 * Answers the parent's commands with `handlers`; `stop` runs `onStop` then exits. The child
 * exits as well when the parent goes away (IPC disconnect), so no orphan keeps a port or a core.
 */
export function serveCommands(handlers: Record<string, Handler>, onStop: () => Promise<void> | void = () => undefined): void {
  process.on('message', (msg: Request) => {
    if (msg.cmd === 'stop') {
      void Promise.resolve()
        .then(onStop)
        .finally(() => process.exit(0));
      return;
    }
    const handler = handlers[msg.cmd];
    if (handler === undefined) {
      send({ id: msg.id, error: `unknown command ${msg.cmd}` });
      return;
    }
    Promise.resolve()
      .then(() => handler(msg.payload))
      .then(
        (result) => send({ id: msg.id, result }),
        (error: unknown) => send({ id: msg.id, error: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
      );
  });
  process.on('disconnect', () => process.exit(0));
}

/** Tells the parent the child is ready (with its port or anything else it needs). */
export function ready(info: Record<string, unknown> = {}): void {
  send({ type: 'ready', result: info });
}

/** Tells the parent the child could not start, then exits non-zero. */
export function failed(error: unknown): never {
  send({ type: 'failed', error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  process.exit(1);
}

/** CPU time this process used so far, µs (user + system). */
export function cpuMicros(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

/** Heap used after two full GCs (needs `--expose-gc`), and the process's active handles. */
export async function heapAfterGc(): Promise<{ heapUsed: number; handles: number; resources: Record<string, number> }> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with --expose-gc');
  // Three passes with a turn of the loop between: finalizers and weak callbacks of one pass
  // free more in the next.
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
  const resources: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) resources[r] = (resources[r] ?? 0) + 1;
  // Timeout entries include the ones ctxkit would leak; the IPC pipe and listening sockets are constant.
  return { heapUsed: process.memoryUsage().heapUsed, handles: process.getActiveResourcesInfo().length, resources };
}
