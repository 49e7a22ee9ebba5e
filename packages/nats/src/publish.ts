import { createInbox, ErrorCode, headers as natsHeaders, Match, type Msg, type MsgHdrs, type NatsConnection, NatsError, type Payload } from 'nats';
import { DeadlineExceededError, type MissingContextMode, tryCurrentContext } from '@ctxkit/core';
import { reportLostContext } from '@ctxkit/core/adapter';
import { outgoingHeaders } from './headers.js';

/** The header naming where a caller publishes its cancellation of a request. */
export const CANCEL_HEADER = 'cancel-subject';

/** Options of {@link publish}. */
export interface PublishOptions {
  /** Headers of your own; the context's keys are added to them (yours win). */
  readonly headers?: MsgHdrs | undefined;
  /** Limits which propagated keys leave (for subjects read by outside parties). Default: all. */
  readonly allow?: ((key: string) => boolean) | undefined;
  /**
   * A publish outside any request context, or under one that has already ended (a callback kept
   * from a finished request): `'throw'`, `'warn'` (default, once per call site) or `'ignore'`.
   */
  readonly missingContext?: MissingContextMode | undefined;
}

/** Options of {@link request}. */
export interface RequestOptions extends PublishOptions {
  /** Longest wait for the reply, ms; the context's remaining budget when that is shorter. Default 5000. */
  readonly timeoutMs?: number | undefined;
}

/**
 * Publishes a message carrying the current context's ids and propagated keys in its headers.
 * An event outlives the request that published it: no deadline or cancellation goes with it,
 * and its consumers run detached.
 *
 * @throws `NoContextError` (from `@ctxkit/core`) outside any context when `missingContext` is `'throw'`.
 * @example
 * publish(nc, 'orders.created', JSON.stringify(order));
 */
export function publish(nc: NatsConnection, subject: string, payload?: Payload, options: PublishOptions = {}): void {
  const ctx = tryCurrentContext();
  reportLostContext(options.missingContext ?? 'warn', 'NATS publish to', ctx, subject);
  if (ctx === undefined) {
    nc.publish(subject, payload, options.headers === undefined ? undefined : { headers: options.headers });
    return;
  }
  const { headers, span } = outgoingHeaders(ctx, options.headers, options.allow, 'publish', subject);
  try {
    nc.publish(subject, payload, { headers });
  } catch (error) {
    span?.end(undefined, error);
    throw error;
  }
  span?.end(undefined, undefined);
}

/**
 * Headers carrying the current context's ids and propagated keys, added to `given` when passed:
 * for the publish calls of other NATS APIs (JetStream's `js.publish`, `msg.respond`). No
 * deadline goes with them. Outside any context the headers are returned as they were.
 *
 * @example
 * await js.publish('orders.created', JSON.stringify(order), { headers: contextHeaders() });
 */
export function contextHeaders(given?: MsgHdrs, options: Omit<PublishOptions, 'headers'> = {}): MsgHdrs {
  const ctx = tryCurrentContext();
  reportLostContext(options.missingContext ?? 'warn', 'NATS headers', ctx);
  if (ctx === undefined) return given ?? natsHeaders();
  // The send is the caller's: the producer span marks the message's creation.
  const { headers, span } = outgoingHeaders(ctx, given, options.allow, 'create', 'message');
  span?.end(undefined, undefined);
  return headers;
}

const DEFAULT_TIMEOUT_MS = 5000;
/** Where core's injection writes a request's budget (its `request-timeout-ms`). */
const BUDGET_HEADER = 'request-timeout-ms';
/** The payload of a cancel notice sent because the caller's deadline passed. @internal */
export const DEADLINE = 'deadline';

/**
 * Sends a request and waits for its reply, carrying the current context: its ids and keys, its
 * remaining budget (`request-timeout-ms`, so the responder runs under the same deadline) and its
 * cancellation (an aborted context rejects at once with its reason and tells the responder, whose
 * context is cancelled too). The wait is bounded by the earlier of `timeoutMs` and the context's
 * deadline; reaching it rejects with {@link DeadlineExceededError}. A context with no time left
 * sends nothing.
 *
 * @example
 * const reply = await request(nc, 'stock.reserve', JSON.stringify({ sku }), { timeoutMs: 500 });
 */
export async function request(nc: NatsConnection, subject: string, payload?: Payload, options: RequestOptions = {}): Promise<Msg> {
  const own = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const ctx = tryCurrentContext();
  reportLostContext(options.missingContext ?? 'warn', 'NATS request to', ctx, subject);
  if (ctx === undefined) {
    return translate(nc.request(subject, payload, { timeout: own, headers: options.headers }), false);
  }
  const signal = ctx.signal;
  if (signal.aborted) throw signal.reason;
  const left = ctx.remainingMs();
  const byContext = left <= own;
  const timeout = Math.floor(byContext ? left : own);
  if (timeout < 1) throw new DeadlineExceededError();
  // The wait is the budget: a timeout header of the caller's own would tell the responder otherwise.
  options.headers?.delete(BUDGET_HEADER, Match.IgnoreCase);
  const { headers, span } = outgoingHeaders(ctx, options.headers, options.allow, 'request', subject, timeout);
  const cancelSubject = createInbox();
  headers.set(CANCEL_HEADER, cancelSubject);
  let reply: Promise<Msg>;
  try {
    reply = translate(nc.request(subject, payload, { timeout, headers }), byContext);
  } catch (error) {
    span?.end(undefined, error);
    throw error;
  }
  return new Promise<Msg>((resolve, reject) => {
    let settled = false;
    const settle = (error: unknown, msg?: Msg) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      span?.end(undefined, error);
      if (error === undefined) resolve(msg!);
      else reject(error);
    };
    const onAbort = () => {
      // The responder listens on this subject while it works; a closed connection has no one to tell.
      // Its payload says why: the caller's deadline fires a little before the responder's (the
      // budget is counted from arrival), and the responder must end with the caller's reason.
      if (!nc.isClosed()) nc.publish(cancelSubject, signal.reason instanceof DeadlineExceededError ? DEADLINE : '');
      settle(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    reply.then(
      (msg) => settle(undefined, msg),
      (error: unknown) => settle(error ?? new Error('NATS request failed')),
    );
  });
}

/** A request that timed out became the context's deadline when the context set the timeout. */
async function translate(reply: Promise<Msg>, byContext: boolean): Promise<Msg> {
  try {
    return await reply;
  } catch (error) {
    if (error instanceof NatsError && error.code === ErrorCode.Timeout) {
      throw new DeadlineExceededError(byContext ? 'deadline exceeded' : 'NATS request timed out', { cause: error });
    }
    throw error;
  }
}
