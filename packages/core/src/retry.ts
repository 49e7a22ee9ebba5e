/**
 * Retries inside the request's budget, written once for every transport (the gRPC client
 * interceptor, `fetch`, undici): exponential backoff with jitter, each attempt's deadline inside
 * what is left, no attempt started that cannot finish, and the guard against retries multiplying
 * across hops: a request that is itself a retry does not retry downstream, and a hop that gave up
 * retrying tells its caller not to retry it either.
 */
import type { Context, RequestContext } from './context.js';
import { checkTimeout } from './deadline.js';
import type { CallTransport } from './outgoing-call.js';

/** Header carrying how many attempts of this request came before (HTTP); gRPC uses `grpc-previous-rpc-attempts`. */
export const ATTEMPT_HEADER = 'request-attempt';
/** Header a response carries to say "do not retry" (`-1`), as gRPC's `grpc-retry-pushback-ms` trailer does. */
export const PUSHBACK_HEADER = 'retry-pushback-ms';
/** gRPC's own names (gRFC A6), which grpc-js's retries write and honour too. */
const GRPC_ATTEMPT_KEY = 'grpc-previous-rpc-attempts';
const GRPC_PUSHBACK_KEY = 'grpc-retry-pushback-ms';

/** How a client retries a failed call; every field has a safe default. */
export interface RetryOptions {
  /** Attempts in all, the first included (1 to 10). Default 3. */
  readonly maxAttempts?: number | undefined;
  /** The first backoff, ms; each later one is `backoffMultiplier` times longer, up to `maxBackoffMs`. Default 50. */
  readonly initialBackoffMs?: number | undefined;
  /** The longest backoff, ms. Default 1000. */
  readonly maxBackoffMs?: number | undefined;
  /** Default 2. */
  readonly backoffMultiplier?: number | undefined;
  /**
   * The least time, ms, an attempt needs: no retry starts with less of the budget left (the
   * last error is returned instead). Default 20.
   */
  readonly minAttemptMs?: number | undefined;
  /**
   * A deadline for each attempt but the last, ms from its start, inside the call's own; the last
   * attempt gets what is left. Default none: every attempt may use all that is left.
   */
  readonly attemptTimeoutMs?: number | undefined;
}

/** The keys one transport's retries use on the wire. */
export interface RetryKeys {
  /** Carries how many attempts of the request came before (from the second attempt on). */
  readonly attemptKey: string;
  /** An answer's pushback: `-1` "do not retry", else the ms to wait before the next attempt. */
  readonly pushbackKey: string;
}

const HTTP_KEYS: RetryKeys = { attemptKey: ATTEMPT_HEADER, pushbackKey: PUSHBACK_HEADER };
const GRPC_KEYS: RetryKeys = { attemptKey: GRPC_ATTEMPT_KEY, pushbackKey: GRPC_PUSHBACK_KEY };

/**
 * How a client retries over one transport: the {@link RetryOptions} checked, with their
 * defaults, and the transport's wire keys. {@link RetryPolicy.compile} makes one at set-up;
 * {@link RetryPolicy.run} starts the retries of one call. The server side of the guard against
 * retries multiplying across hops has no policy, so it is static: {@link RetryPolicy.keysOf}
 * names the keys a server reads and answers with, {@link RetryPolicy.spent} says when to answer
 * "do not retry".
 */
export class RetryPolicy {
  /** The keys of `transport`: `request-attempt` and `retry-pushback-ms` over HTTP; gRPC's own (gRFC A6) over gRPC. */
  static keysOf(transport: CallTransport): RetryKeys {
    return transport === 'grpc' ? GRPC_KEYS : HTTP_KEYS;
  }

  /**
   * Checks retry options once, at set-up: `undefined` or `false` is no retries; `true` the defaults.
   * @throws RangeError for an option out of range.
   */
  static compile(options: RetryOptions | boolean | undefined, transport: CallTransport = 'http'): RetryPolicy | undefined {
    if (options === undefined || options === false) return undefined;
    const o = options === true ? {} : options;
    const maxAttempts = o.maxAttempts ?? 3;
    if (!Number.isInteger(maxAttempts) || maxAttempts < 1 || maxAttempts > 10) {
      throw new RangeError(`ctxkit: retry.maxAttempts must be an integer from 1 to 10, got ${String(maxAttempts)}`);
    }
    const multiplier = o.backoffMultiplier ?? 2;
    if (!Number.isFinite(multiplier) || multiplier < 1) {
      throw new RangeError(`ctxkit: retry.backoffMultiplier must be at least 1, got ${String(multiplier)}`);
    }
    const initialBackoffMs = checkTimeout(o.initialBackoffMs ?? 50, 'retry.initialBackoffMs');
    return new RetryPolicy(
      maxAttempts,
      initialBackoffMs,
      Math.max(checkTimeout(o.maxBackoffMs ?? 1000, 'retry.maxBackoffMs'), initialBackoffMs),
      multiplier,
      checkTimeout(o.minAttemptMs ?? 20, 'retry.minAttemptMs'),
      o.attemptTimeoutMs === undefined ? undefined : checkTimeout(o.attemptTimeoutMs, 'retry.attemptTimeoutMs'),
      RetryPolicy.keysOf(transport),
    );
  }

  /**
   * Whether a call of the request `ctx` serves gave up retrying: then the server's answer tells
   * its caller not to retry (pushback `-1`), or the retries would multiply hop by hop.
   */
  static spent(ctx: RequestContext | undefined): boolean {
    return retriesSpent(ctx);
  }

  // Private, so that the policy compares equal to its plain options; read through the getters.
  readonly #keys: RetryKeys;

  private constructor(
    readonly maxAttempts: number,
    readonly initialBackoffMs: number,
    readonly maxBackoffMs: number,
    readonly backoffMultiplier: number,
    readonly minAttemptMs: number,
    readonly attemptTimeoutMs: number | undefined,
    keys: RetryKeys,
  ) {
    this.#keys = keys;
  }

  /** The key an attempt after the first carries its count under. */
  get attemptKey(): string {
    return this.#keys.attemptKey;
  }

  /** The key of an answer's pushback. */
  get pushbackKey(): string {
    return this.#keys.pushbackKey;
  }

  /** Parses a pushback value, ms: negative means "do not retry"; `undefined` when absent or malformed. */
  pushbackMs(value: string | null | undefined): number | undefined {
    return parsePushback(value);
  }

  /** The retries of one call under `ctx` whose whole deadline is `deadline` (epoch ms). */
  run(ctx: RequestContext | undefined, deadline: number | undefined): RetryRun {
    return new RetryRun(this, ctx, deadline);
  }
}

/** The context at the root of `ctx`'s chain in this process: where the request's retry state lives. */
function rootOf(ctx: RequestContext | undefined): Partial<Context> | undefined {
  let c = ctx as Partial<Context> | undefined;
  while (c?._parent !== undefined) c = c._parent as Partial<Context>;
  return c;
}

/** How many attempts of the request `ctx` serves came before this one (0: it is the first). @internal */
export function incomingAttempt(ctx: RequestContext | undefined): number {
  return rootOf(ctx)?._attempt ?? 0;
}

/**
 * Whether a call of the request `ctx` serves gave up retrying: then its answer tells the caller
 * not to retry (pushback `-1`), or the retries would multiply hop by hop. @internal
 */
export function retriesSpent(ctx: RequestContext | undefined): boolean {
  return rootOf(ctx)?._retriesSpent === true;
}

/** Parses an incoming attempt count (a small non-negative integer); `undefined` when malformed. @internal */
export function parseAttempt(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d{1,3}$/.test(value)) return undefined;
  return Number(value);
}

/** Parses a pushback value, ms: negative means "do not retry"; `undefined` when absent or malformed. @internal */
export function parsePushback(value: string | null | undefined): number | undefined {
  if (value == null || !/^-?\d{1,9}$/.test(value)) return undefined;
  return Number(value);
}

/**
 * The retries of one outgoing call: which attempt is running, its deadline, and whether and when
 * the next one starts. A transport makes one per call ({@link RetryPolicy.run}), asks
 * {@link attemptDeadline} before each attempt, {@link next} after each failure, and waits with
 * {@link wait} (undone by {@link cancel} when the call is aborted).
 */
export class RetryRun {
  /** The attempt running, from 0. */
  attempt = 0;
  /** The attempts this call may make: 1 when the request it serves is itself a retry. */
  readonly allowed: number;
  #backoffMs: number;
  #timer: NodeJS.Timeout | undefined = undefined;

  constructor(
    readonly policy: RetryPolicy,
    readonly ctx: RequestContext | undefined,
    /** The whole call's deadline, epoch ms. */
    readonly deadline: number | undefined,
  ) {
    this.allowed = incomingAttempt(ctx) > 0 ? 1 : policy.maxAttempts;
    this.#backoffMs = policy.initialBackoffMs;
  }

  /**
   * The deadline of the attempt about to start: its own timeout inside the call's, except for
   * the last attempt (no retry could follow it), which gets all that is left.
   */
  attemptDeadline(now: number): number | undefined {
    const per = this.policy.attemptTimeoutMs;
    if (per === undefined || this.attempt + 1 >= this.allowed) return this.deadline;
    const own = now + per;
    if (this.deadline === undefined) return own;
    // A retry after this attempt would not fit anyway: give this one everything.
    if (own + this.policy.minAttemptMs > this.deadline) return this.deadline;
    return Math.min(own, this.deadline);
  }

  /**
   * After a failed attempt: the backoff, ms, before the next one, or `undefined` to give up and
   * report this failure. `retryable`: the failure is one the policy retries; `pushbackMs`: what
   * the server asked (negative: do not retry; a delay replaces the backoff). Giving up on a
   * retryable failure marks the request as having spent its retries (see {@link RetryPolicy.spent}).
   */
  next(retryable: boolean, pushbackMs: number | undefined, now: number): number | undefined {
    if (!retryable) return undefined;
    if (pushbackMs !== undefined && pushbackMs < 0) return this.#giveUp();
    if (this.attempt + 1 >= this.allowed) return this.#giveUp();
    let delay: number;
    if (pushbackMs !== undefined) {
      delay = pushbackMs;
      this.#backoffMs = this.policy.initialBackoffMs;
    } else {
      // Full jitter (gRFC A6): uniformly random in [0, backoff).
      delay = Math.floor(Math.random() * this.#backoffMs);
      this.#backoffMs = Math.min(this.#backoffMs * this.policy.backoffMultiplier, this.policy.maxBackoffMs);
    }
    if (this.deadline !== undefined && this.deadline - (now + delay) < this.policy.minAttemptMs) return this.#giveUp();
    this.attempt++;
    return delay;
  }

  #giveUp(): undefined {
    const root = rootOf(this.ctx);
    if (root !== undefined && typeof root._attempt === 'number') root._retriesSpent = true;
    return undefined;
  }

  /** Runs `fn` after `delay` ms, unless {@link cancel} comes first. */
  wait(delay: number, fn: () => void): void {
    this.#timer = setTimeout(onBackoff, delay, this, fn);
  }

  /** @internal */
  _waited(fn: () => void): void {
    this.#timer = undefined;
    fn();
  }

  /** Whether a backoff is running. */
  get waiting(): boolean {
    return this.#timer !== undefined;
  }

  /** Stops a running backoff; its function never runs. */
  cancel(): void {
    if (this.#timer === undefined) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

function onBackoff(run: RetryRun, fn: () => void): void {
  run._waited(fn);
}
