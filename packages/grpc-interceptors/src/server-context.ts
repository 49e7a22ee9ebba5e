import type { Deadline, Metadata } from '@grpc/grpc-js';
import { CancelledError, DeadlineExceededError, type DropHandler, type OwnedContext, type TrustOption } from '@ctxkit/core';
import { type Admission, compileAdmission, compileExtractor, RetryPolicy } from '@ctxkit/core/adapter';
import { metadataGetter } from './metadata.js';

/** How the server side builds a call's context; resolved once at set-up. */
export interface ServerContextOptions {
  /** Which incoming keys to honour. Default `'internal'`: every declared key from every peer. */
  readonly trust?: TrustOption | undefined;
  /** Budget, ms, for a call that arrives without a deadline. Default: none. */
  readonly defaultTimeoutMs?: number | undefined;
  /** Longest budget, ms, a caller may ask for; longer deadlines are shortened to it. */
  readonly maxTimeoutMs?: number | undefined;
  /**
   * Receives every dropped incoming value, with the ids of the call's context, and the call
   * (`getPeer()`, `getDeadline()`). Default: core's counter (`droppedValues()`).
   */
  readonly onDrop?: DropHandler<ServerCallInfo> | undefined;
}

/** What the server side needs from a grpc-js call, intercepting or surface. */
export interface ServerCallInfo {
  getDeadline(): Deadline;
  getPeer(): string;
}

/** Builds the context of one incoming call from its metadata and deadline. @internal */
export type OpenContext = (metadata: Metadata, call: ServerCallInfo) => OwnedContext;

/** The opaque metadata slot where the interceptor leaves the call's context for the wrapper. */
export const CONTEXT_SLOT = 'ctxkit.context';

/** Compiles the builder of incoming calls' contexts. @internal */
export function compileOpenContext(options: ServerContextOptions = {}): OpenContext {
  const trust = options.trust ?? 'internal';
  const extract = compileExtractor<ServerCallInfo>({
    trust,
    // gRPC has its own deadline (grpc-timeout, parsed by grpc-js); no HTTP timeout header.
    timeoutHeader: false,
    // The retry count grpc-js (and ctxkit's client) writes from the second attempt on.
    attemptHeader: RetryPolicy.keysOf('grpc').attemptKey,
    defaultTimeoutMs: options.defaultTimeoutMs,
    maxTimeoutMs: options.maxTimeoutMs,
    onDrop: options.onDrop,
  });
  // Only trust rules naming peers need the remote address; formatting it costs on every call.
  const needsPeer = typeof trust === 'object' && trust.from !== undefined;

  // Nothing is armed here: core times the deadline once something follows the context (its
  // signal read, an outgoing call), and a context nobody follows notices it when asked.
  return function openContext(metadata, call) {
    return extract(metadataGetter, metadata, {
      timeoutMs: timeoutOf(call.getDeadline()),
      remoteAddress: needsPeer ? peerAddress(call.getPeer()) : undefined,
      origin: call,
    });
  };
}

/** Milliseconds left before a grpc-js deadline; `undefined` for none (Infinity). */
function timeoutOf(deadline: Deadline): number | undefined {
  const ms = deadlineMs(deadline);
  if (!Number.isFinite(ms)) return undefined;
  const left = ms - Date.now();
  return Math.max(left, 0);
}

function deadlineMs(deadline: Deadline): number {
  return typeof deadline === 'number' ? deadline : deadline.getTime();
}

/** `getPeer()` is `address:port` (or `unknown`); trust rules match the address. */
function peerAddress(peer: string): string | undefined {
  if (peer === 'unknown' || peer === '') return undefined;
  const colon = peer.lastIndexOf(':');
  const host = colon > 0 && /^\d+$/.test(peer.slice(colon + 1)) ? peer.slice(0, colon) : peer;
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/**
 * A cancel that arrives this close to the deadline is the caller's deadline: each hop receives its
 * deadline later than its caller by the transit time, so the caller's own timer fires first and
 * its cancel reaches us before ours would. On a busy host that transit includes the time the
 * server's event loop took to read the call's headers: tens of ms were seen on a loaded 2-core
 * runner, hence the margin. A cancel this close to the deadline reported as a deadline changes
 * only the reason the handler sees.
 */
const DEADLINE_SLACK_MS = 50;

/**
 * Aborts a call's context because the call went away: with {@link DeadlineExceededError} when its
 * deadline has passed or is within {@link DEADLINE_SLACK_MS} (the caller timed out), else
 * {@link CancelledError}.
 * @internal
 */
export function abortCallContext(ctx: OwnedContext, call: ServerCallInfo): void {
  const soon = Date.now() + DEADLINE_SLACK_MS;
  const expired = soon >= deadlineMs(call.getDeadline()) || soon >= (ctx.deadline ?? Number.POSITIVE_INFINITY);
  ctx.cancel(expired ? new DeadlineExceededError() : new CancelledError());
  ctx.end();
}

/**
 * The least time a method needs: one figure for every method, or figures by name (a full method
 * path for the interceptor, a handler name for the service wrapper); 0 for the others.
 */
export type MinBudgetOption = number | Readonly<Record<string, number>> | undefined;

/**
 * Compiles `minBudgetMs` into each method's admission check, once at set-up. Every method
 * defaults to 0: only a call whose deadline has passed (or that was cancelled) is refused.
 * @throws RangeError for a negative or non-finite figure, or a name not in `known` (when given).
 * @internal
 */
export function compileMinBudget(option: MinBudgetOption, known?: readonly string[]): (name: string) => Admission {
  const none = compileAdmission(0, 'every method');
  if (option === undefined) return () => none;
  if (typeof option === 'number') {
    const all = compileAdmission(option, 'every method');
    return () => all;
  }
  const table = new Map<string, Admission>();
  for (const [name, ms] of Object.entries(option)) {
    if (known !== undefined && !known.includes(name)) {
      throw new RangeError(`ctxkit: minBudgetMs names "${name}", which is not a handler of this service (${known.join(', ')})`);
    }
    table.set(name, compileAdmission(ms, name));
  }
  return (name) => table.get(name) ?? none;
}
