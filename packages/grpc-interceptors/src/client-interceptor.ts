import {
  type Deadline,
  type InterceptingListener,
  type Interceptor,
  type InterceptorOptions,
  type NextCall,
  type StatusObject,
  InterceptingCall,
  Metadata,
  status as grpcStatus,
} from '@grpc/grpc-js';
import { type MissingContextMode, type RequestContext, type RetryOptions, Status, type StatusCode, tryCurrentContext } from '@ctxkit/core';
import { type CarrierSetter, injectContext, OutgoingCall, reportLostContext, RetryPolicy, type TraceSink } from '@ctxkit/core/adapter';
import { contextSetIfAbsent, contextSetter } from './metadata.js';
import { RetryingCall } from './retrying-call.js';

/** The retry policy of {@link clientInterceptor}: core's budget rules, and which calls to retry. */
export interface GrpcRetryOptions extends RetryOptions {
  /** The status codes retried. Default `[Status.UNAVAILABLE]` (the server was not there, or shut down). */
  readonly codes?: readonly StatusCode[] | undefined;
  /**
   * The methods retried (full paths, `/pkg.Service/Method`, or a predicate). gRPC does not say
   * which methods are idempotent: default every unary and server-streaming method of the
   * client; name the idempotent ones when not all are. Client- and bidi-streaming calls are
   * never retried.
   */
  readonly methods?: readonly string[] | ((path: string) => boolean) | undefined;
}

/** Options of {@link clientInterceptor}, resolved once when it is created. */
export interface ClientInterceptorOptions {
  /**
   * What a call made outside any request context does: `'throw'` a `NoContextError` from the
   * call site, `'warn'` once per call site (`CTXKIT_NO_CONTEXT`, naming where), or `'ignore'`.
   * A call made under a context that has already ended (a callback kept from a finished
   * request) is reported the same way (`CTXKIT_ENDED_CONTEXT`, naming where and which request)
   * and, unless thrown, still carries that request's ids, deadline and cancellation.
   * Default `'warn'`.
   */
  readonly missingContext?: MissingContextMode | undefined;
  /**
   * Whether the context's values replace metadata keys the caller set explicitly on the call.
   * Default `false`: what the caller wrote on that call wins.
   */
  readonly override?: boolean | undefined;
  /** Limits which propagated keys leave (for calls to outside services). Default: all of them. */
  readonly allow?: ((key: string) => boolean) | undefined;
  /**
   * Retries inside the call's budget (see the README's "Retries"): `true` for the defaults
   * (3 attempts, UNAVAILABLE, backoff 50 ms doubling up to 1 s with full jitter, no retry with
   * under 20 ms left), or a policy. Default: none. A call serving a retry
   * (`grpc-previous-rpc-attempts` > 0) makes one attempt; a call that gave up retrying makes its
   * server answer with `grpc-retry-pushback-ms: -1`, which this policy (and grpc-js's) obeys.
   */
  readonly retry?: GrpcRetryOptions | boolean | undefined;
}

/** The retry policy, compiled. */
interface GrpcRetry {
  readonly policy: RetryPolicy;
  readonly codes: ReadonlySet<StatusCode>;
  readonly methods: ((path: string) => boolean) | undefined;
}

function compileGrpcRetry(options: GrpcRetryOptions | boolean | undefined): GrpcRetry | undefined {
  const policy = RetryPolicy.compile(options, 'grpc');
  if (policy === undefined || policy.maxAttempts === 1) return undefined;
  const o = typeof options === 'object' ? options : {};
  const list = o.methods;
  const methods = list === undefined ? undefined : typeof list === 'function' ? list : setOf(list);
  return { policy, codes: new Set(o.codes ?? [Status.UNAVAILABLE]), methods };
}

function setOf(paths: readonly string[]): (path: string) => boolean {
  const set = new Set(paths);
  return (path) => set.has(path);
}

/**
 * A grpc-js client interceptor that carries the current ctxkit context on every call: its
 * propagated keys as metadata, its deadline as the call's (`min(call option, context)`), and its
 * cancellation (an aborted context cancels the call with CANCELLED, or DEADLINE_EXCEEDED when the
 * deadline aborted it). A context with no time left fails the call at once with
 * DEADLINE_EXCEEDED (CANCELLED when cancelled) and sends nothing. Works for all four call kinds.
 *
 * @throws `NoContextError` (from `@ctxkit/core`) from the call site, for a call outside any context, when
 *   `missingContext` is `'throw'`.
 * @example
 * const client = new pkg.Orders(target, credentials.createInsecure(), {
 *   interceptors: [clientInterceptor()],
 * });
 */
export function clientInterceptor(options: ClientInterceptorOptions = {}): Interceptor {
  const missing = options.missingContext ?? 'warn';
  const setter = options.override === true ? contextSetter : contextSetIfAbsent;
  const allow = options.allow;
  const retry = compileGrpcRetry(options.retry);

  return function ctxkitClientInterceptor(callOptions: InterceptorOptions, nextCall: NextCall): InterceptingCall {
    const ctx = tryCurrentContext();
    const method = callOptions.method_definition;
    const retried = retry !== undefined && !method.requestStream && (retry.methods === undefined || retry.methods(method.path));
    if (ctx === undefined) {
      if (missing !== 'ignore') reportLostContext(missing, 'gRPC call', undefined, method.path);
      if (!retried) return new InterceptingCall(nextCall(callOptions));
    } else if (missing !== 'ignore') {
      // An ended context (one field read when live) is reported; the call is still sent with its ids.
      reportLostContext(missing, 'gRPC call', ctx, method.path);
    }
    // Core's outgoing-call lifecycle: the earlier of the caller's deadline and the context's,
    // never further than grpc-js servers can read; grpc-js times the call itself.
    const now = Date.now();
    const own = epochMs(callOptions.deadline);
    const link = new CallLink(callOptions.method_definition.path);
    const deadline = link.setDeadline(ctx, own, undefined, now);
    const early = link.start(ctx, undefined, now);
    if (early !== undefined) return expiredCall(link.abortStatus(early));
    if (retried) return retryingCall(callOptions, nextCall, ctx, link, deadline, retry, setter, allow);
    const next = deadline === own ? nextCall(callOptions) : nextCall({ ...callOptions, deadline });
    // Outside a context only a retried call gets this far.
    return new ContextCall(next, ctx!, link, setter, allow);
  };
}

/** A call with retries; the link follows the context across all its attempts. */
function retryingCall(
  callOptions: InterceptorOptions,
  nextCall: NextCall,
  ctx: RequestContext | undefined,
  link: CallLink,
  deadline: number | undefined,
  retry: GrpcRetry,
  setter: CarrierSetter<Metadata>,
  allow: ((key: string) => boolean) | undefined,
): InterceptingCall {
  const prepare = (md: Metadata) => {
    if (ctx === undefined) return;
    injectContext(ctx, setter, md, allow);
    link.md = md;
    link.trace(ctx, { transport: 'grpc', method: link.path, target: '' }, link, allow);
    link.md = undefined;
  };
  const call = new RetryingCall(callOptions, nextCall, retry.policy.run(ctx, deadline), link, retry.codes, prepare);
  link.call = call;
  return new InterceptingCall(call);
}

// grpc-js does not export these two types by name.
type InterceptingCallInterface = ReturnType<NextCall>;
type MessageContext = Parameters<InterceptingCallInterface['sendMessageWithContext']>[0];

/** A grpc-js deadline as epoch ms; `undefined` for none (absent or Infinity). */
function epochMs(deadline: Deadline | undefined): number | undefined {
  if (deadline === undefined) return undefined;
  const ms = typeof deadline === 'number' ? deadline : deadline.getTime();
  return Number.isFinite(ms) ? ms : undefined;
}

/**
 * The lifecycle of one call: aborting the context cancels the call with the status its reason
 * means; with a tracer on, the call's span. It is the sink the tracer writes metadata through.
 */
class CallLink extends OutgoingCall implements TraceSink {
  call: { cancelWithStatus(code: grpcStatus, details: string): void } | undefined = undefined;
  /** The metadata being prepared, while the tracer writes it. */
  md: Metadata | undefined = undefined;

  constructor(readonly path: string) {
    super('grpc');
  }

  has(key: string): boolean {
    return this.md!.get(key).length !== 0;
  }

  set(key: string, value: string): void {
    this.md!.set(key, value);
  }

  cancel(reason: unknown): void {
    const { code, details } = this.abortStatus(reason);
    this.call?.cancelWithStatus(code as number as grpcStatus, details);
  }
}

/**
 * One call under a context: writes the context's keys into the outgoing metadata, and is its
 * own inner listener, so that the call's lifecycle is released when the status arrives.
 */
class ContextCall extends InterceptingCall implements InterceptingListener {
  readonly #ctx: RequestContext;
  readonly #link: CallLink;
  readonly #setter: CarrierSetter<Metadata>;
  readonly #allow: ((key: string) => boolean) | undefined;
  #listener: Partial<InterceptingListener> | undefined = undefined;

  constructor(
    next: InterceptingCallInterface,
    ctx: RequestContext,
    link: CallLink,
    setter: CarrierSetter<Metadata>,
    allow: ((key: string) => boolean) | undefined,
  ) {
    super(next);
    this.#ctx = ctx;
    this.#link = link;
    this.#setter = setter;
    this.#allow = allow;
    link.call = this;
  }

  override start(metadata: Metadata, listener?: Partial<InterceptingListener>): void {
    // A copy, not the caller's object: callers reuse Metadata objects across calls, and keys
    // written into theirs would pass for explicit ones on the next call under another context.
    const md = metadata.clone();
    this.#listener = listener;
    try {
      injectContext(this.#ctx, this.#setter, md, this.#allow);
      // With OpenTelemetry on: the call's client span, unless grpc-js's instrumentation (which
      // runs before interceptors) already made one and wrote its traceparent.
      const link = this.#link;
      link.md = md;
      link.trace(this.#ctx, { transport: 'grpc', method: link.path, target: '' }, link, this.#allow);
      link.md = undefined;
      super.start(md, this);
    } catch (error) {
      this.#link.release();
      throw error;
    }
  }

  onReceiveMetadata(metadata: Metadata): void {
    this.#listener?.onReceiveMetadata?.(metadata);
  }

  onReceiveMessage(message: unknown): void {
    this.#listener?.onReceiveMessage?.(message);
  }

  onReceiveStatus(status: StatusObject): void {
    const link = this.#link;
    link.status = status.code;
    link.release();
    // grpc-js's deadline timer and the context's fire at the same instant, in either order.
    if (status.code === grpcStatus.DEADLINE_EXCEEDED) link.deadlinePassed();
    this.#listener?.onReceiveStatus?.(status);
  }
}

/**
 * A call that never reaches the channel: its status (DEADLINE_EXCEEDED or CANCELLED) is
 * delivered on the next tick, as a real call's would be, and everything else is a no-op.
 */
class ExpiredCall implements InterceptingCallInterface {
  readonly #status: StatusObject;
  #done = false;

  constructor({ code, details }: { readonly code: StatusCode; readonly details: string }) {
    this.#status = { code: code as number as grpcStatus, details, metadata: new Metadata() };
  }

  start(_metadata: Metadata, listener?: Partial<InterceptingListener>): void {
    process.nextTick(deliver, this, listener);
  }

  _deliver(listener: Partial<InterceptingListener> | undefined): void {
    if (this.#done) return;
    this.#done = true;
    listener?.onReceiveStatus?.(this.#status);
  }

  cancelWithStatus(): void {}
  getPeer(): string {
    return '';
  }
  sendMessageWithContext(_context: MessageContext, _message: unknown): void {}
  sendMessage(_message: unknown): void {}
  startRead(): void {}
  halfClose(): void {}
  getAuthContext(): null {
    return null;
  }
}

function deliver(call: ExpiredCall, listener: Partial<InterceptingListener> | undefined): void {
  call._deliver(listener);
}

/** `status`: what the aborted context means (the call's {@link OutgoingCall.abortStatus}). */
function expiredCall(status: { readonly code: StatusCode; readonly details: string }): InterceptingCall {
  return new InterceptingCall(new ExpiredCall(status));
}
