/**
 * The `fetch` wrapper's retries: core's budget rules ({@link RetryRun}) applied to HTTP. Only an
 * idempotent method (by the policy) whose body can be sent again is retried; each attempt carries
 * its own budget in the timeout header and `request-attempt` from the second on; a retryable
 * status's body is cancelled before the next attempt; an abort stops the loop at once.
 */
import { formatHttpTimeout } from './deadline.js';
import { DeadlineExceededError } from './errors.js';
import type { HttpRetry, Outgoing } from './outgoing.js';
import type { RetryRun } from './retry.js';

/** Whether a request body can be sent again as it is (not a stream read once). */
export function replayable(body: unknown): boolean {
  return (
    body == null ||
    typeof body === 'string' ||
    body instanceof URLSearchParams ||
    body instanceof ArrayBuffer ||
    ArrayBuffer.isView(body) ||
    body instanceof Blob ||
    body instanceof FormData
  );
}

/** One attempt: send with these headers and this signal, follow redirects, resolve with the response. */
export type Attempt = (headers: Headers, signal: AbortSignal) => Promise<Response>;

/**
 * Runs attempts until one is final (a status or error the policy does not retry, or the last),
 * and resolves with its response. `signal` is the call's: once it aborts, no attempt starts and a
 * backoff ends at once with its reason.
 */
export async function withRetries(
  out: Outgoing,
  retry: HttpRetry,
  run: RetryRun,
  headers: Headers,
  signal: AbortSignal,
  attempt: Attempt,
): Promise<Response> {
  for (;;) {
    const now = Date.now();
    const deadline = run.attemptDeadline(now);
    const own = deadline !== undefined && deadline !== run.deadline;
    const sent = new Headers(headers);
    if (run.attempt > 0) sent.set(run.policy.attemptKey, String(run.attempt));
    if (own && out.timeoutHeader !== false) sent.set(out.timeoutHeader, formatHttpTimeout(deadline - now));
    const timer = own ? new AbortController() : undefined;
    const timeout = timer === undefined ? undefined : setTimeout(() => timer.abort(new DeadlineExceededError()), deadline! - now);
    let response: Response | undefined;
    let failure: unknown;
    try {
      response = await attempt(sent, timer === undefined ? signal : AbortSignal.any([signal, timer.signal]));
    } catch (error) {
      failure = error;
    } finally {
      clearTimeout(timeout);
    }
    if (signal.aborted) throw signal.reason;
    // A network failure (fetch's TypeError) or this attempt's own timeout is retryable.
    const retryable =
      response === undefined ? failure instanceof TypeError || timer?.signal.aborted === true : retry.statuses.has(response.status);
    const pushback = run.policy.pushbackMs(response?.headers.get(run.policy.pushbackKey));
    const delay = run.next(retryable, pushback, Date.now());
    if (delay === undefined) {
      if (response === undefined) throw failure;
      return response;
    }
    await response?.body?.cancel().catch(() => undefined);
    await backoff(run, delay, signal);
  }
}

function backoff(run: RetryRun, delay: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => {
      run.cancel();
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    run.wait(delay, () => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    });
  });
}
