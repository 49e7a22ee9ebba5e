/**
 * The extractor: builds a request's context from its incoming carrier, once per request, for
 * every transport (HTTP headers, gRPC metadata, message headers).
 */
import type { CarrierGetter } from './carrier.js';
import { Context, type OwnedContext, type RequestContext } from './context.js';
import { checkTimeout, parseHttpTimeout, resolveBudget, type BudgetOptions, TIMEOUT_HEADER } from './deadline.js';
import { parseBaggage } from './baggage.js';
import { dropChannel, type DropMessage } from './diagnostics.js';
import { countDrop, dropOf, type DropHandler, type PendingDrop } from './drops.js';
import { newRequestId, newTraceId } from './ids.js';
import { keyDefinition, LIMITS, valueProblem, type KeyDefinition } from './schema.js';
import { slot } from './storage.js';
import { formatTraceparent, isW3CTraceId, parseTraceparent, type TraceParent } from './traceparent.js';
import { parseTracestate } from './tracestate.js';
import { compileTrust, type TrustOption } from './trust.js';
import { ATTEMPT_HEADER, parseAttempt } from './retry.js';

/** Options of {@link compileExtractor}, resolved once at adapter set-up. */
export interface ExtractOptions<O = unknown> extends BudgetOptions {
  /** Which incoming keys to honour. Default `'internal'`; HTTP edges pass `'edge'`. */
  readonly trust?: TrustOption | undefined;
  /** Header to read a client's timeout from (HTTP); `false` to read none. Default `request-timeout-ms`. */
  readonly timeoutHeader?: string | false | undefined;
  /**
   * Receives dropped values, with the ids of the context built for their request and the
   * source's `origin`. Default: core's counter, which warns once per key and reason.
   */
  readonly onDrop?: DropHandler<O> | undefined;
  /**
   * Also read trusted declared keys from W3C `baggage` when their own header is absent (for
   * peers instrumented with OpenTelemetry baggage). Default `false`. Baggage is only ever read
   * for keys the trust policy honours, so the public edge never takes it from clients.
   */
  readonly readBaggage?: boolean | undefined;
  /**
   * Header or metadata key saying how many attempts of this request came before (a retry's
   * count), kept on the context for the retry guard; `false` reads none. Default
   * `request-attempt`; gRPC servers read `grpc-previous-rpc-attempts`.
   */
  readonly attemptHeader?: string | false | undefined;
}

/** What the transport knows besides the carrier. */
export interface ExtractSource<O = unknown> {
  /** The peer's address, for trust rules naming peers. */
  readonly remoteAddress?: string | undefined;
  /**
   * The framework's own request id, used instead of a new one when valid (one id, not two) and
   * no trusted peer sent one; an invalid one is dropped with a reason and replaced.
   */
  readonly requestId?: string | undefined;
  /** A timeout the transport received natively (gRPC deadline), ms; replaces the header. */
  readonly timeoutMs?: number | undefined;
  /** A cap for this request only (a framework's handler timeout), ms: the smaller budget wins. */
  readonly maxTimeoutMs?: number | undefined;
  /** Passed to `onDrop` with each drop: what the adapter serves (its request object). */
  readonly origin?: O | undefined;
  /**
   * What the transport refused before extraction (a message header block its client could not
   * parse, a job context that is not an object, a malformed task message): reported through
   * `onDrop` like any drop, with the ids of the context built without it.
   */
  readonly refused?: { readonly key: string; readonly reason: string } | undefined;
}

/**
 * Builds a request's context from its carrier, read through `getter` (one static object per
 * transport). Re-entrant: callbacks it reaches (`onDrop`, the getter, trust rules) may extract
 * again. @see {@link compileExtractor}
 */
export type Extractor<O = unknown> = <C>(getter: CarrierGetter<C>, carrier: C, source?: ExtractSource<O>) => OwnedContext;

const TRACE_ID = 'trace-id';
const REQUEST_ID = 'request-id';
const TRACEPARENT = 'traceparent';
const TRACESTATE = 'tracestate';
const BAGGAGE = 'baggage';
/**
 * The request id a proxy or mesh sets (Envoy and Istio; nginx's `$request_id`): from a trusted
 * proxy the chain's request id, forwarded unchanged on every downstream call as Istio requires
 * of applications (https://istio.io/latest/docs/tasks/observability/distributed-tracing/overview/).
 */
const PROXY_REQUEST_ID = 'x-request-id';
/** Envoy's route timeout for the request, ms (https://www.envoyproxy.io/docs/envoy/latest/configuration/http/http_filters/router_filter#x-envoy-expected-rq-timeout-ms). */
const ENVOY_TIMEOUT = 'x-envoy-expected-rq-timeout-ms';

/**
 * Compiles, once, the function every adapter uses to build a request's context from incoming
 * headers or metadata (options are checked here: a negative or non-finite timeout is a
 * `RangeError`): the W3C trace id by precedence `traceparent` → a 32-hex `trace-id` → a 32-hex
 * `x-request-id` → new (from trusted peers `trace-id` first), a legacy id that is not W3C kept
 * beside it (`legacyTraceId`); from a peer trusted with the request id, `request-id`
 * or a proxy's `x-request-id` (kept and forwarded unchanged); declared keys as the trust policy
 * allows; the deadline from the transport, else the timeout header or, from a trusted proxy,
 * Envoy's `x-envoy-expected-rq-timeout-ms` (the smaller), defaulted and clamped. Invalid values
 * are dropped and reported, never thrown.
 */
export function compileExtractor<O = unknown>(options: ExtractOptions<O> = {}): Extractor<O> {
  const decide = compileTrust(options.trust ?? 'internal');
  const timeoutHeader = options.timeoutHeader === undefined ? TIMEOUT_HEADER : options.timeoutHeader;
  const onDrop: DropHandler<O> = options.onDrop ?? countDrop;
  const { defaultTimeoutMs, maxTimeoutMs } = options;
  const budget: BudgetOptions = {
    defaultTimeoutMs: defaultTimeoutMs === undefined ? undefined : checkTimeout(defaultTimeoutMs, 'defaultTimeoutMs'),
    maxTimeoutMs: maxTimeoutMs === undefined ? undefined : checkTimeout(maxTimeoutMs, 'maxTimeoutMs'),
  };
  const readBaggage = options.readBaggage === true;
  const attemptHeader = options.attemptHeader === undefined ? ATTEMPT_HEADER : options.attemptHeader;
  const traceDef = keyDefinition(TRACE_ID)!;
  const requestDef = keyDefinition(REQUEST_ID)!;

  return function extract<C>(getter: CarrierGetter<C>, carrier: C, source?: ExtractSource<O>): OwnedContext {
    const r = new Reading(getter as CarrierGetter<unknown>, carrier);
    const refused = source?.refused;
    if (refused !== undefined) r.drop(refused.key, refused.reason, undefined);
    const metadata = new Map<string, string>();
    const bridge = slot.bridge;
    const trusted = decide(source?.remoteAddress);
    const rawTraceparent = one(r, r.get(TRACEPARENT), TRACEPARENT);
    const tp = readTraceparent(r, rawTraceparent);
    const sent = readOne(r, traceDef);
    // The context's id is always a W3C one: `traceparent`, else a 32-hex legacy id, else new
    // (the active span's on a fresh chain). From a trusted peer ctxkit's own `trace-id` comes
    // first: a tracer without the bridge may have written a `traceparent` of another trace.
    const sentW3C = sent !== undefined && isW3CTraceId(sent) ? sent : undefined;
    let traceId = trusted === 'none' ? (tp?.traceId ?? sentW3C) : (sentW3C ?? tp?.traceId);
    const trustedWithId = trusted !== 'none' && (trusted === 'declared' || trusted.has(REQUEST_ID));
    // A proxy's `x-request-id` is read only where it is used: as the request id from a peer
    // trusted with it, or in the trace id's role when nothing else named the trace.
    const proxied = trustedWithId || traceId === undefined ? readProxiedId(r, requestDef) : undefined;
    // The proxy's id is checked as a trace id only where it could be one (nothing else named
    // the trace): not on every request that came with a `traceparent`.
    const proxiedW3C = traceId === undefined && proxied !== undefined && isW3CTraceId(proxied) ? proxied : undefined;
    traceId ??= proxiedW3C ?? bridge?.activeTraceId();
    const random = traceId === undefined;
    traceId ??= newTraceId();
    // A legacy id that is not W3C is kept beside it: a `trace-id` travels on unchanged under its
    // header; an `x-request-id` in the trace id's role (nothing else named the trace) is kept and
    // logged, and travels only as the request id's header does (from a peer trusted with it).
    const legacy = sent !== undefined ? (sentW3C === undefined ? sent : undefined) : tp === undefined && proxiedW3C === undefined ? proxied : undefined;
    const traceValue = sent !== undefined && sentW3C === undefined ? sent : traceId;
    metadata.set(TRACE_ID, traceValue);
    // A trusted peer's request id names the chain's request (ctxkit's `request-id`, else the
    // proxy's `x-request-id`, which travels on unchanged); else the framework's own id.
    let requestId: string | undefined;
    let bytes = 0;
    if (trustedWithId) {
      requestId = readOne(r, requestDef) ?? proxied;
      if (proxied !== undefined) {
        metadata.set(PROXY_REQUEST_ID, proxied);
        bytes = PROXY_REQUEST_ID.length + proxied.length;
      }
    }
    const own = source?.requestId;
    if (requestId === undefined && own !== undefined) {
      const problem = valueProblem(requestDef, own);
      if (problem === undefined) requestId = own;
      else r.drop(REQUEST_ID, `framework request id ${problem}`, own);
    }
    requestId ??= newRequestId();
    metadata.set(REQUEST_ID, requestId);
    // Counted from what was set, not by walking the map (an entry array per key, measured).
    bytes += TRACE_ID.length + traceValue.length + REQUEST_ID.length + requestId.length;
    if (trusted === 'declared') {
      for (const def of slot.keys.values()) bytes = readKey(r, def, metadata, bytes);
    } else if (trusted !== 'none') {
      for (const name of trusted) {
        const def = keyDefinition(name);
        if (def !== undefined) bytes = readKey(r, def, metadata, bytes);
      }
    }
    if (readBaggage && trusted !== 'none') bytes = readFromBaggage(r, trusted, metadata, bytes);
    // Trace context is bounded by its own rules (55 + 512 characters), not the keys' limits: a
    // context at the limits crosses a hop whole, traceparent included.
    if (tp !== undefined) forwardTraceContext(r, tp, rawTraceparent!, metadata);
    let requestedMs = source?.timeoutMs;
    if (requestedMs === undefined && timeoutHeader !== false) requestedMs = readTimeout(r, timeoutHeader);
    // Envoy's route timeout, from a trusted proxy only: a budget like the client's (smaller wins).
    if (source?.timeoutMs === undefined && trusted !== 'none') {
      const envoyMs = readTimeout(r, ENVOY_TIMEOUT);
      if (envoyMs !== undefined && (requestedMs === undefined || envoyMs < requestedMs)) requestedMs = envoyMs;
    }
    let ms = resolveBudget(requestedMs, budget);
    const cap = source?.maxTimeoutMs;
    if (cap !== undefined && (ms === undefined || cap < ms)) ms = cap;
    const deadline = ms === undefined ? undefined : Date.now() + ms;
    const ctx = new Context(traceId, requestId, metadata, deadline, deadline !== undefined, undefined);
    ctx._randomTraceId = random;
    ctx._legacyTraceId = legacy;
    if (attemptHeader !== false) ctx._attempt = readAttempt(r, attemptHeader);
    if (bridge !== undefined) bridge.annotate(ctx);
    // An adapter that names an origin type passes its origin with every request.
    if (r.drops !== undefined) report(r.drops, ctx, source?.origin as O, onDrop);
    return ctx;
  };
}

/**
 * One extraction in progress: the carrier and its accessor, and the drops found so far, which
 * are reported once the context exists (with its ids). Its own object per request, never a
 * module-level one, so that a callback reached meanwhile may extract again; the drop list is
 * only allocated for a request that has drops.
 */
class Reading {
  drops: PendingDrop[] | undefined = undefined;
  constructor(
    readonly getter: CarrierGetter<unknown>,
    readonly carrier: unknown,
  ) {}

  get(key: string): string | readonly unknown[] | undefined {
    return this.getter.get(this.carrier, key);
  }

  drop(key: string, reason: string, value: unknown): void {
    const drop = dropOf(key, reason, value);
    if (this.drops === undefined) this.drops = [drop];
    else this.drops.push(drop);
  }
}

function report<O>(drops: PendingDrop[], ctx: RequestContext, origin: O, onDrop: DropHandler<O>): void {
  for (const drop of drops) {
    drop.traceId = ctx.traceId;
    drop.requestId = ctx.requestId;
    if (dropChannel.hasSubscribers) dropChannel.publish({ drop, origin } satisfies DropMessage);
    onDrop(drop, origin);
  }
}

function readKey(
  r: Reading,
  def: KeyDefinition,
  into: Map<string, string>,
  bytes: number,
): number {
  const name = def.name;
  if (name === TRACE_ID || name === REQUEST_ID) return bytes;
  const value = readOne(r, def);
  if (value === undefined) return bytes;
  const next = bytes + name.length + value.length;
  if (next > LIMITS.totalBytes || into.size >= LIMITS.entries) {
    r.drop(name, 'propagated entries over the total limit', value);
    return bytes;
  }
  into.set(name, value);
  return next;
}

/** Fills trusted declared keys still missing from the `baggage` header, validated as any value. */
function readFromBaggage(
  r: Reading,
  trusted: 'declared' | ReadonlySet<string>,
  into: Map<string, string>,
  bytes: number,
): number {
  const raw = r.get(BAGGAGE);
  if (raw === undefined || (typeof raw !== 'string' && !raw.every((v) => typeof v === 'string'))) return bytes;
  const baggage = parseBaggage(raw as string | string[], (reason) => r.drop(BAGGAGE, reason, undefined));
  for (const [name, value] of baggage) {
    if (into.has(name) || name === TRACE_ID || name === REQUEST_ID) continue;
    const def = keyDefinition(name);
    if (def === undefined || (trusted !== 'declared' && !trusted.has(name))) continue;
    const problem = valueProblem(def, value);
    const next = bytes + name.length + value.length;
    if (problem !== undefined || next > LIMITS.totalBytes || into.size >= LIMITS.entries) {
      r.drop(BAGGAGE, `${name}: ${problem ?? 'propagated entries over the total limit'}`, value);
      continue;
    }
    into.set(name, value);
    bytes = next;
  }
  return bytes;
}

/** Reads and validates one value; drops it with a reason when it is not acceptable. */
function readOne(r: Reading, def: KeyDefinition): string | undefined {
  const value = one(r, r.get(def.name), def.name);
  if (value === undefined) return undefined;
  const problem = valueProblem(def, value);
  if (problem === undefined) return value;
  r.drop(def.name, problem, value);
  return undefined;
}

/** One string from a carrier read; several values are ambiguous and dropped. */
function one(r: Reading, raw: string | readonly unknown[] | undefined, key: string): string | undefined {
  if (typeof raw === 'string' || raw === undefined) return raw;
  if (raw.length === 0) return undefined;
  if (raw.length === 1 && typeof raw[0] === 'string') return raw[0];
  r.drop(key, raw.length === 1 ? 'not a string' : 'sent more than once', undefined);
  return undefined;
}

/**
 * Keeps a valid incoming `traceparent` (as version 00) and its `tracestate` in the metadata, so
 * that they are forwarded as the W3C spec asks of a participant that creates no span.
 */
function forwardTraceContext(r: Reading, tp: TraceParent, received: string, into: Map<string, string>): void {
  // A valid version-00 value is forwarded as received (one string, also where the carrier
  // answers lists, as gRPC metadata does); other versions are written as 00.
  const traceparent = received.length === 55 && received.startsWith('00-') ? received : formatTraceparent(tp);
  into.set(TRACEPARENT, traceparent);
  const raw = r.get(TRACESTATE);
  // A carrier may answer a missing key with an empty list (grpc-js Metadata does).
  if (raw === undefined || (typeof raw !== 'string' && (raw.length === 0 || !raw.every((v) => typeof v === 'string')))) return;
  const state = parseTracestate(raw as string | string[], (reason) => r.drop(TRACESTATE, reason, raw));
  if (state !== undefined && state !== '') into.set(TRACESTATE, state);
}

/** The incoming `x-request-id`, read once and validated as an id; dropped with a reason when invalid. */
function readProxiedId(r: Reading, requestDef: KeyDefinition): string | undefined {
  const value = one(r, r.get(PROXY_REQUEST_ID), PROXY_REQUEST_ID);
  if (value === undefined) return undefined;
  const problem = valueProblem(requestDef, value);
  if (problem === undefined) return value;
  r.drop(PROXY_REQUEST_ID, problem, value);
  return undefined;
}

/** A timeout header in integer ms; dropped with a reason when invalid. */
function readTimeout(r: Reading, header: string): number | undefined {
  const raw = one(r, r.get(header), header);
  const ms = parseHttpTimeout(raw);
  // The reason is worked out again only on the rare bad value: no closure per request.
  if (ms === undefined && raw !== undefined) parseHttpTimeout(raw, (reason) => r.drop(header, reason, raw));
  return ms;
}

/** The incoming attempt count, 0 when absent; dropped with a reason when malformed. */
function readAttempt(r: Reading, header: string): number {
  const raw = one(r, r.get(header), header);
  if (raw === undefined) return 0;
  const attempt = parseAttempt(raw);
  if (attempt !== undefined) return attempt;
  r.drop(header, 'not an attempt count (0-999)', raw);
  return 0;
}

/** Validates the incoming `traceparent` (read once by the caller), dropping it with a reason when invalid. */
function readTraceparent(r: Reading, raw: string | undefined): TraceParent | undefined {
  const tp = parseTraceparent(raw);
  if (tp === undefined && raw !== undefined) parseTraceparent(raw, (reason) => r.drop(TRACEPARENT, reason, raw));
  return tp;
}
