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

/** Options shared by {@link createFetch} and {@link undiciInterceptor}, resolved once. */
export interface OutgoingOptions {
  /**
   * The propagated keys that may leave, as wire names or declared keys; default: all of them.
   * Give external targets a short list (`['trace-id']`) so that user ids and internal keys do
   * not leak to third parties; `[]` sends none.
   * @throws {@link InvalidMetadataError} at set-up for a name that cannot be a key.
   */
  readonly allowKeys?: readonly (string | ContextKey)[] | undefined;
  /**
   * A timeout for every call, in milliseconds. The call's deadline is the earlier of this and
   * the context's; reaching it aborts the call with {@link DeadlineExceededError}.
   */
  readonly timeoutMs?: number | undefined;
  /** Header carrying the remaining budget (integer ms); `false` sends none. Default `request-timeout-ms`. */
  readonly timeoutHeader?: string | false | undefined;
  /** What a call made outside any context does: `'throw'`, `'warn'` (default, once per call site) or `'ignore'`. */
  readonly missingContext?: MissingContextMode | undefined;
}

/** {@link OutgoingOptions} checked and turned into what a call reads. @internal */
export interface Outgoing {
  readonly allow: ((key: string) => boolean) | undefined;
  readonly timeoutMs: number | undefined;
  readonly timeoutHeader: string | false;
  readonly missingContext: MissingContextMode;
}

/** Checks options once, at set-up. @internal */
export function compileOutgoing(options: OutgoingOptions): Outgoing {
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
