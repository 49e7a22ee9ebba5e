import { currentContext, withCancel, withTimeout } from '@ctxkit/core';

/** Waits until the current context aborts, then rejects with its reason. */
export function untilAborted(): Promise<never> {
  const { signal } = currentContext();
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

/**
 * The ways a handler ends that ctxkit answers, served the same by a Nest app and by a plain one,
 * so that their answers can be compared. `unary` calls the gRPC Probe service.
 */
export function endings(unary: (text: string) => Promise<unknown>): Record<string, () => Promise<unknown>> {
  return {
    'with-timeout': () => withTimeout(20, untilAborted),
    cancelled: () =>
      withCancel((cancel) => {
        cancel();
        return untilAborted();
      }),
    'grpc-not-found': () => unary('not-found'),
    'grpc-deadline': () => unary('deadline'),
    'grpc-slow': () => unary('slow'),
    hang: untilAborted,
  };
}
