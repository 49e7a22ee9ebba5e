/**
 * Deadline codecs and budget math, shared by every adapter. All durations are milliseconds;
 * a deadline is always absolute epoch milliseconds.
 */

/** Longest delay a Node timer takes (2^31-1 ms, ~24.8 days); longer ones fire at once. */
export const MAX_TIMER_MS = 2_147_483_647;

/**
 * Longest timeout ctxkit sends over gRPC. grpc-js servers read `grpc-timeout` with `| 0`, so a
 * value past 2^31-1 ms wraps negative and the call times out at once; MAX_TIMER_MS itself goes
 * out as `2147484S` and wraps, one second less (`2147483S`) does not.
 */
export const MAX_GRPC_TIMEOUT_MS = MAX_TIMER_MS - 1000;

// https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md: TimeoutValue is at most
// 8 ASCII digits, TimeoutUnit one of H M S m u n.
const GRPC_TIMEOUT = /^(\d{1,8})([HMSmun])$/;
const UNIT_MS: Readonly<Record<string, number>> = {
  H: 3_600_000,
  M: 60_000,
  S: 1000,
  m: 1,
  u: 0.001,
  n: 0.000001,
};

/**
 * Parses a `grpc-timeout` value (`<1–8 digits><H|M|S|m|u|n>`) into milliseconds, rounded up.
 * Never throws.
 *
 * @returns milliseconds, or `undefined` when malformed (`onReject` says why).
 */
export function parseGrpcTimeout(value: string | undefined, onReject?: (reason: string) => void): number | undefined {
  if (value === undefined) return undefined;
  const m = value.length <= 9 ? GRPC_TIMEOUT.exec(value) : null;
  if (m === null) {
    onReject?.('malformed grpc-timeout');
    return undefined;
  }
  return Math.ceil(Number(m[1]) * UNIT_MS[m[2]!]!);
}

/**
 * Formats milliseconds as a `grpc-timeout` value, in the finest unit that fits 8 digits,
 * clamped to {@link MAX_GRPC_TIMEOUT_MS}. Negative input formats as `0m`.
 */
export function formatGrpcTimeout(ms: number): string {
  const t = Math.min(MAX_GRPC_TIMEOUT_MS, Math.max(0, Math.ceil(ms)));
  if (t < 1e8) return `${t}m`;
  if (t / 1000 < 1e8) return `${Math.ceil(t / 1000)}S`;
  if (t / 60_000 < 1e8) return `${Math.ceil(t / 60_000)}M`;
  return `${Math.min(99_999_999, Math.ceil(t / 3_600_000))}H`;
}

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
