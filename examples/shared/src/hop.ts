// Demo instrumentation, not business code: what this service saw of each request, reported to
// the demo (IPC, when started by it) and logged. The demo's waterfall and its end-to-end test
// are drawn from these reports, never from printed text.
import { CtxkitError, currentContext, Status } from '@ctxkit/core';
import { isStatusError } from '@ctxkit/core/adapter';
import type { HopReport__Output } from '@ctxkit-examples/api';
import { serviceLog } from './log.ts';

/** What one hop saw: the HopReport message of examples/api, as this process builds it. */
export type Hop = HopReport__Output;

/** One request's hop while it runs: children are the reports of the calls it made. */
export interface HopRecorder {
  /** Adds the report a downstream call returned. */
  child(report: Hop | null | undefined): void;
  /** The report as of now, to return up the chain. */
  snapshot(status: string): Hop;
}

/**
 * Runs `work` as this service's hop of the current request: records the budget left on
 * arrival, when (and why) the context aborted, the status it ended with, and reports it.
 * `dropped` lists incoming values the adapter refused ("key: reason").
 */
export async function withHop<T>(service: string, work: (hop: HopRecorder) => Promise<T>, dropped: string[] = []): Promise<T> {
  const ctx = currentContext();
  const startedAtMs = Date.now();
  const remaining = ctx.remainingMs();
  const budgetAtArrivalMs = Number.isFinite(remaining) ? remaining : -1;
  const children: Hop[] = [];
  let abortedAtMs = 0;
  let abortReason = '';
  const onAbort = () => {
    abortedAtMs = Date.now();
    abortReason = statusOf(ctx.signal.reason);
  };
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  const snapshot = (status: string): Hop => ({
    service,
    traceId: ctx.traceId,
    requestId: ctx.requestId,
    userId: ctx.userId ?? '',
    budgetAtArrivalMs,
    startedAtMs,
    durationMs: Date.now() - startedAtMs,
    status,
    abortedAtMs,
    abortReason,
    metadata: Object.fromEntries(ctx.metadata),
    children,
    dropped,
  });
  send({ type: 'hop-start', hop: snapshot('RUNNING') });
  let status = 'OK';
  try {
    return await work({ child: (report) => report && children.push(report), snapshot });
  } catch (error) {
    status = statusOf(error);
    throw error;
  } finally {
    ctx.signal.removeEventListener('abort', onAbort);
    const hop = snapshot(status);
    serviceLog(service).info({ hop: { ...hop, children: undefined } }, `${service} hop ${status}`);
    send({ type: 'hop', hop });
  }
}

// `Status` lists the codes in order, 0 to 16: its keys are the names by number.
const STATUS_NAMES = Object.keys(Status);

/** The gRPC status name an error stands for. */
export function statusOf(error: unknown): string {
  if (error instanceof CtxkitError) return error.grpcCode === Status.INTERNAL ? 'INTERNAL' : error.code;
  if (isStatusError(error)) return STATUS_NAMES[error.code] ?? 'UNKNOWN';
  return 'INTERNAL';
}

/** Tells the demo (when it started this process) that `service` listens on `port`. */
export function reportReady(service: string, port: number): void {
  serviceLog(service).info({ port }, 'listening');
  send({ type: 'ready', port });
}

// Only to the demo, which sets CTXKIT_DEMO_IPC: another parent (a test runner) has its own protocol.
const toDemo = process.env.CTXKIT_DEMO_IPC === '1';

function send(message: object): void {
  if (toDemo && process.send !== undefined && process.connected) process.send(message);
}
