/**
 * Deadline codecs and budget math, shared by every adapter. All durations are milliseconds;
 * a deadline is always absolute epoch milliseconds.
 */

/** Longest delay a Node timer takes (2^31-1 ms, ~24.8 days); longer ones fire at once. */
export const MAX_TIMER_MS = 2_147_483_647;

/**
 * Longest timeout ctxkit gives a gRPC call. grpc-js writes the deadline as `grpc-timeout` and its
 * servers read it back with `| 0`, so a value past 2^31-1 ms wraps negative and the call times
 * out at once; MAX_TIMER_MS itself goes out as `2147484S` and wraps, one second less does not.
 */
export const MAX_GRPC_TIMEOUT_MS = MAX_TIMER_MS - 1000;

/** The HTTP header that carries the remaining budget, in integer milliseconds. */
export const TIMEOUT_HEADER = 'request-timeout-ms';

// Milliseconds as a plain non-negative integer, at most 10 digits (~115 days) so it cannot
// overflow or lose precision.
const HTTP_TIMEOUT = /^\d{1,10}$/;

/**
 * Parses an HTTP timeout header value (`request-timeout-ms: 1500`): a non-negative integer of
 * milliseconds. Never throws.
 *
 * @returns milliseconds, or `undefined` when malformed, negative or absurd (`onReject` says why).
 */
export function parseHttpTimeout(value: string | undefined, onReject?: (reason: string) => void): number | undefined {
  if (value === undefined) return undefined;
  if (!HTTP_TIMEOUT.test(value)) {
    onReject?.(value.startsWith('-') ? 'negative timeout' : 'malformed timeout (integer milliseconds expected)');
    return undefined;
  }
  return Number(value);
}

/** Formats milliseconds for the HTTP timeout header: an integer, rounded down, at least 0. */
export function formatHttpTimeout(ms: number): string {
  return String(Math.max(0, Math.floor(ms)));
}

/** How an edge turns a client's requested timeout into a budget. */
export interface BudgetOptions {
  /** Budget when the client sends none. `undefined`: no deadline. */
  readonly defaultTimeoutMs?: number | undefined;
  /** Longest budget a client may ask for; longer requests are clamped to it. */
  readonly maxTimeoutMs?: number | undefined;
}

/**
 * The budget in milliseconds for a request that asked for `requestedMs` (or nothing):
 * the default when absent, clamped to the maximum. `undefined` means no deadline.
 */
export function resolveBudget(requestedMs: number | undefined, options: BudgetOptions): number | undefined {
  const ms = requestedMs ?? options.defaultTimeoutMs;
  const max = options.maxTimeoutMs;
  if (ms === undefined) return max;
  return max !== undefined && ms > max ? max : ms;
}

/**
 * Checks a timeout given in code (`withTimeout`, adapter options).
 * @throws RangeError when it is not a finite, non-negative number.
 */
export function checkTimeout(ms: number, what: string): number {
  if (typeof ms !== 'number' || !(ms >= 0) || ms === Number.POSITIVE_INFINITY) {
    throw new RangeError(`ctxkit: ${what} must be a finite number of milliseconds >= 0, got ${String(ms)}`);
  }
  return ms;
}

/** The earlier of two absolute deadlines; `undefined` means none. */
export function earliestDeadline(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return a < b ? a : b;
}
