/**
 * What every outgoing HTTP call does with the current context, shared by the `fetch` wrapper
 * and the undici interceptor: which headers it writes, its deadline, and the one object per
 * call that follows the context's and the caller's signals until the call is released.
 */
import type { CarrierSetter, HeaderSink } from './carrier.js';
import { injectContext } from './inject.js';
import type { RequestContext } from './context.js';
import { checkTimeout, formatHttpTimeout, parseHttpTimeout, TIMEOUT_HEADER } from './deadline.js';
import { printable } from './errors.js';
import type { MissingContextMode } from './lost-context.js';
import { type ContextKey, normalizeKey } from './schema.js';
import { type RetryOptions, RetryPolicy } from './retry.js';

/** {@link HttpRetryOptions} compiled. @internal */
export interface HttpRetry {
  readonly policy: RetryPolicy;
  readonly methods: ReadonlySet<string>;
  readonly statuses: ReadonlySet<number>;
}

const IDEMPOTENT = ['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE'];

function compileHttpRetry(options: HttpRetryOptions | boolean | undefined): HttpRetry | undefined {
  const policy = RetryPolicy.compile(options);
  if (policy === undefined || policy.maxAttempts === 1) return undefined;
  const o = typeof options === 'object' ? options : {};
  return {
    policy,
    methods: new Set((o.methods ?? IDEMPOTENT).map((m) => m.toUpperCase())),
    statuses: new Set(o.statuses ?? [502, 503]),
  };
}

/** Options shared by `createFetch` and `undiciInterceptor` (`@ctxkit/core/fetch`), resolved once. */
export interface OutgoingOptions {
  /**
   * The propagated keys that may leave, as wire names or declared keys; default: all of them.
   * Give external targets a short list (`['trace-id']`) so that user ids and internal keys do
   * not leak to third parties; `[]` sends none.
   * @throws `InvalidMetadataError` (from `@ctxkit/core`) at set-up for a name that cannot be a key.
   */
  readonly allowKeys?: readonly (string | ContextKey)[] | undefined;
  /**
   * A timeout for every call, in milliseconds. The call's deadline is the earlier of this and
   * the context's; reaching it aborts the call with `DeadlineExceededError`.
   */
  readonly timeoutMs?: number | undefined;
  /** Header carrying the remaining budget (integer ms); `false` sends none. Default `request-timeout-ms`. */
  readonly timeoutHeader?: string | false | undefined;
  /** What a call made outside any context does: `'throw'`, `'warn'` (default, once per call site) or `'ignore'`. */
  readonly missingContext?: MissingContextMode | undefined;
}

/** The retry policy of outgoing HTTP calls: core's budget rules, and which calls to retry. */
export interface HttpRetryOptions extends RetryOptions {
  /** Methods retried. Default the idempotent ones of RFC 9110: GET, HEAD, OPTIONS, PUT, DELETE. */
  readonly methods?: readonly string[] | undefined;
  /** Response statuses retried. Default 502 and 503 (a 503 is also what a draining ctxkit server answers). */
  readonly statuses?: readonly number[] | undefined;
}

/** {@link OutgoingOptions} checked and turned into what a call reads. @internal */
export interface Outgoing {
  readonly allow: ((key: string) => boolean) | undefined;
  readonly timeoutMs: number | undefined;
  readonly timeoutHeader: string | false;
  readonly missingContext: MissingContextMode;
  readonly retry: HttpRetry | undefined;
}

/** Checks options once, at set-up. @internal */
export function compileOutgoing(options: OutgoingOptions & { readonly retry?: HttpRetryOptions | boolean | undefined }): Outgoing {
  let allow: ((key: string) => boolean) | undefined;
  if (options.allowKeys !== undefined) {
    const allowed = new Set(options.allowKeys.map((k) => (typeof k === 'string' ? normalizeKey(k) : k.name)));
    allow = (key) => allowed.has(key);
  }
  const header = options.timeoutHeader;
  return {
    allow,
    timeoutMs: options.timeoutMs === undefined ? undefined : checkTimeout(options.timeoutMs, 'timeoutMs'),
    timeoutHeader: header === undefined ? TIMEOUT_HEADER : header === false ? false : headerName(header),
    missingContext: options.missingContext ?? 'warn',
    retry: compileHttpRetry(options.retry),
  };
}

// RFC 9110 §5.1: a field name is a token.
const TOKEN = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;

function headerName(name: string): string {
  const lower = name.toLowerCase();
  if (!TOKEN.test(lower)) throw new RangeError(`ctxkit: timeoutHeader "${printable(name)}" is not a valid header name`);
  return lower;
}

/** Writes a key unless the caller already set it: the caller's own header wins. */
const setIfAbsent: CarrierSetter<HeaderSink> = {
  set: (headers, key, value) => {
    if (!headers.has(key)) headers.set(key, value);
  },
};

/**
 * Writes the context's propagated keys that the caller did not set, then the remaining budget.
 * The caller's own timeout header stays when it asks for less time; it never asks for more.
 * @internal
 */
export function writeHeaders(
  out: Outgoing,
  ctx: RequestContext | undefined,
  deadline: number | undefined,
  now: number,
  headers: HeaderSink,
): void {
  if (ctx !== undefined) injectContext(ctx, setIfAbsent, headers, out.allow);
  const name = out.timeoutHeader;
  if (deadline === undefined || name === false) return;
  const budget = formatHttpTimeout(deadline - now);
  const own = headers.get(name);
  const ownMs = own == null ? undefined : parseHttpTimeout(own);
  if (ownMs === undefined || ownMs > Number(budget)) headers.set(name, budget);
}
