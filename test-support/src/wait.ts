/**
 * Waits `ms`, or rejects with the signal's own reason when it aborts first (a ctxkit context's
 * `DeadlineExceededError` or `CancelledError`, which test services log and answer with).
 * `timers/promises` would reject with an `AbortError` wrapping it instead.
 */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
