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
import { type MissingContextMode, type RequestContext, tryCurrentContext } from '@ctxkit/core';
import {
  abortStatus,
  type CarrierSetter,
  callDeadline,
  injectContext,
  MAX_GRPC_TIMEOUT_MS,
  OutgoingCall,
  reportLostContext,
  type TraceSink,
} from '@ctxkit/core/adapter';
import { metadataSetIfAbsent, metadataSetter } from './metadata.js';

/** Options of {@link clientInterceptor}, resolved once when it is created. */
export interface ClientInterceptorOptions {
  /**
   * What a call made outside any request context does: `'throw'` a `NoContextError` from the
   * call site, `'warn'` once per call site (`CTXKIT_NO_CONTEXT`, naming where), or `'ignore'`.
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
  const setter = options.override === true ? metadataSetter : metadataSetIfAbsent;
  const allow = options.allow;

  return function ctxkitClientInterceptor(callOptions: InterceptorOptions, nextCall: NextCall): InterceptingCall {
    const ctx = tryCurrentContext();
    if (ctx === undefined) {
      if (missing !== 'ignore') reportLostContext(missing, `gRPC call ${callOptions.method_definition.path}`, undefined);
      return new InterceptingCall(nextCall(callOptions));
    }
    // Core's outgoing-call lifecycle: the earlier of the caller's deadline and the context's,
    // never further than grpc-js servers can read; grpc-js times the call itself.
    const now = Date.now();
    const own = epochMs(callOptions.deadline);
    const deadline = callDeadline(ctx, own, undefined, now, MAX_GRPC_TIMEOUT_MS);
    const link = new CallLink(callOptions.method_definition.path);
    const early = link.start(ctx, undefined, deadline, now, true);
    if (early !== undefined) return expiredCall(early);
    const next = deadline === own ? nextCall(callOptions) : nextCall({ ...callOptions, deadline });
    return new ContextCall(next, ctx, link, setter, allow);
  };
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
  call: InterceptingCall | undefined = undefined;
  /** The metadata being prepared, while the tracer writes it. */
  md: Metadata | undefined = undefined;

  constructor(readonly path: string) {
    super();
  }

  has(key: string): boolean {
    return this.md!.get(key).length !== 0;
  }

  set(key: string, value: string): void {
    this.md!.set(key, value);
  }

  cancel(reason: unknown): void {
    const { code, details } = abortStatus(reason);
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

  constructor(reason: unknown) {
    const { code, details } = abortStatus(reason);
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

function expiredCall(reason: unknown): InterceptingCall {
  return new InterceptingCall(new ExpiredCall(reason));
}
