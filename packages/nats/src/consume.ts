import type { JsMsg, Msg, MsgHdrs, NatsConnection, Subscription, SubscriptionOptions } from 'nats';
import { CancelledError, DeadlineExceededError, type DropHandler, type OwnedContext, runWithContext, type TrustOption } from '@ctxkit/core';
import { compileExtractor, runConsumerTrace } from '@ctxkit/core/adapter';
import { headersOf, natsHeadersGetter } from './headers.js';
import { CANCEL_HEADER, DEADLINE } from './publish.js';

/** How a consumer builds each message's context; resolved once per subscription or consumer. */
export interface ConsumerOptions<M = Msg> {
  /**
   * Which keys this consumer honours from producers, declared here for each subscription or
   * consumer: `'internal'` (every declared key, `user-id` included: producers are your own
   * services), `'edge'` (trace ids only: anyone may publish on the subject), or a rule naming
   * keys. Required: what a subject's producers may claim is a decision, not a default.
   */
  readonly trust: TrustOption;
  /** Longest budget a request may carry, ms; a longer one is shortened to it. Default: none. */
  readonly maxTimeoutMs?: number | undefined;
  /** Receives every dropped header value with the ids of the message's context. Default: core's counter. */
  readonly onDrop?: DropHandler<M> | undefined;
}

/** Options of {@link subscribe}: the subscription's own and how its messages' contexts are built. */
export interface SubscribeOptions extends ConsumerOptions<Msg>, Omit<SubscriptionOptions, 'callback'> {
  /** Receives what a handler threw or rejected with. Default: a process warning (`CTXKIT_HANDLER_ERROR`). */
  readonly onError?: ((error: unknown, msg: Msg | undefined) => void) | undefined;
}

/** Runs one message's handler in the message's context. */
export type MessageRunner<M, R> = (msg: M) => Promise<Awaited<R>>;

// NATS subjects: tokens of visible characters without wildcards, joined by dots.
const SUBJECT = /^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+){0,15}$/;

/**
 * Wraps a handler of core NATS messages so that each runs in its message's context: ids and the
 * keys `trust` allows from its headers, invalid values dropped with a reason. A request (a message
 * with a reply subject) also takes the caller's budget as its deadline, and, when `nc` is given,
 * its cancellation; an event runs detached. The context ends when the handler settles.
 *
 * @example
 * const handle = messageHandler(async (msg) => msg.respond(await reserve(msg.json())), { trust: 'internal' }, nc);
 */
export function messageHandler<R>(handler: (msg: Msg) => R, options: ConsumerOptions<Msg>, nc?: NatsConnection): MessageRunner<Msg, R> {
  const event = compileExtractor<Msg>({ trust: options.trust, timeoutHeader: false, onDrop: options.onDrop });
  // A request's budget comes in core's timeout header (request-timeout-ms), the default.
  const call = compileExtractor<Msg>({ trust: options.trust, maxTimeoutMs: options.maxTimeoutMs, onDrop: options.onDrop });
  return async function runMessage(msg: Msg): Promise<Awaited<R>> {
    const isRequest = typeof msg.reply === 'string' && msg.reply !== '';
    const headers = headersOf(msg);
    const readable = headers === undefined || 'malformed' in headers ? undefined : headers;
    const cancelSubject = isRequest && nc !== undefined && readable !== undefined ? cancelSubjectOf(readable) : undefined;
    const refused = readable !== headers ? blockRefused(headers as { malformed: string }) : typeof cancelSubject === 'object' ? cancelSubject : undefined;
    const ctx = (isRequest ? call : event)(natsHeadersGetter, readable, { origin: msg, refused });
    const cancel = typeof cancelSubject === 'string' ? listenForCancel(nc!, cancelSubject, ctx) : undefined;
    // Reading the signal arms the deadline timer (created lazily).
    if (ctx.deadline !== undefined) void ctx.signal;
    try {
      return (await runConsumerTrace({ system: 'nats', destination: msg.subject }, ctx, () => runWithContext(ctx, handler, msg))) as Awaited<R>;
    } finally {
      cancel?.unsubscribe();
      ctx.end();
    }
  };
}

/**
 * Wraps a JetStream message handler so that each message runs in its context. JetStream messages
 * are events: no deadline or cancellation is taken from them; a redelivery runs with the same ids.
 *
 * @example
 * const handle = jetstreamHandler(async (m) => { await ship(m.json()); m.ack(); }, { trust: 'internal' });
 * for await (const m of await consumer.consume()) await handle(m);
 */
export function jetstreamHandler<R>(handler: (msg: JsMsg) => R, options: ConsumerOptions<JsMsg>): MessageRunner<JsMsg, R> {
  const extract = compileExtractor<JsMsg>({ trust: options.trust, timeoutHeader: false, onDrop: options.onDrop });
  return async function runJetStreamMessage(msg: JsMsg): Promise<Awaited<R>> {
    const headers = headersOf(msg);
    const readable = headers === undefined || 'malformed' in headers ? undefined : headers;
    const refused = readable !== headers ? blockRefused(headers as { malformed: string }) : undefined;
    const ctx = extract(natsHeadersGetter, readable, { origin: msg, refused });
    try {
      return (await runConsumerTrace({ system: 'nats', destination: msg.subject }, ctx, () => runWithContext(ctx, handler, msg))) as Awaited<R>;
    } finally {
      ctx.end();
    }
  };
}

/**
 * Subscribes `handler` to `subject`, each message run in its context ({@link messageHandler}),
 * requests under the caller's deadline and cancellation. A handler's error goes to `onError` and
 * never ends the subscription.
 *
 * @example
 * subscribe(nc, 'stock.reserve', async (msg) => msg.respond(await reserve(msg.json())), { trust: 'internal', queue: 'stock' });
 */
export function subscribe(nc: NatsConnection, subject: string, handler: (msg: Msg) => unknown, options: SubscribeOptions): Subscription {
  const run = messageHandler(handler, options, nc);
  const onError = options.onError ?? warnHandlerError;
  const { trust: _t, maxTimeoutMs: _m, onDrop: _d, onError: _e, ...subscription } = options;
  return nc.subscribe(subject, {
    ...subscription,
    callback(error, msg) {
      if (error !== null) return onError(error, msg);
      run(msg).catch((e: unknown) => onError(e, msg));
    },
  });
}

function warnHandlerError(error: unknown, msg: Msg | undefined): void {
  const what = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  process.emitWarning(`ctxkit: a NATS handler for ${safeText(msg?.subject ?? '?', 64)} failed: ${safeText(what, 200)}`, {
    code: 'CTXKIT_HANDLER_ERROR',
  });
}

/** Log-safe text: visible ASCII only, bounded. */
function safeText(text: string, max: number): string {
  const clean = text.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}

type Refused = { readonly key: string; readonly reason: string };

/** A header block that could not be parsed is dropped whole: the message runs in a fresh context. */
function blockRefused(headers: { malformed: string }): Refused {
  return { key: 'headers', reason: `malformed header block (${safeText(headers.malformed, 80)})` };
}

/** The request's cancel subject, none, or why it is refused. */
function cancelSubjectOf(headers: MsgHdrs): string | Refused | undefined {
  const values = headers.values(CANCEL_HEADER);
  if (values.length === 0) return undefined;
  const subject = values[0]!;
  if (values.length > 1) return { key: CANCEL_HEADER, reason: 'sent more than once' };
  if (subject.length > 128 || !SUBJECT.test(subject)) return { key: CANCEL_HEADER, reason: 'not a plain NATS subject' };
  return subject;
}

/** Cancels `ctx` when the caller publishes on the request's cancel subject. */
function listenForCancel(nc: NatsConnection, subject: string, ctx: OwnedContext): Subscription {
  return nc.subscribe(subject, {
    max: 1,
    callback: (_error, notice) => ctx.cancel(notice?.string() === DEADLINE ? new DeadlineExceededError() : new CancelledError()),
  });
}
