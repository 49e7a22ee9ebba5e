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
import { CtxkitError, DeadlineExceededError, type MissingContextMode, type RequestContext, tryCurrentContext } from '@ctxkit/core';
import { type CallSpan, injectContext, MAX_GRPC_TIMEOUT_MS, reportMissingContext, startCallTrace, type TraceSink } from '@ctxkit/core/adapter';
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
 * @throws {@link NoContextError} from the call site, for a call outside any context, when
 *   `missingContext` is `'throw'`.
 * @example
 * const client = new pkg.Orders(target, credentials.createInsecure(), {
 *   interceptors: [clientInterceptor()],
 * });
 */
export function clientInterceptor(options: ClientInterceptorOptions = {}): Interceptor {
  const missing = options.missingContext ?? 'warn';
  const override = options.override === true;
  const allow = options.allow;

  return function ctxkitClientInterceptor(callOptions: InterceptorOptions, nextCall: NextCall): InterceptingCall {
    const ctx = tryCurrentContext();
    if (ctx === undefined) {
      if (missing !== 'ignore') reportMissingContext(missing, `gRPC call ${callOptions.method_definition.path}`);
      return new InterceptingCall(nextCall(callOptions));
    }
    const signal = ctx.signal;
    if (signal.aborted) return expiredCall(signal.reason);
    // The call's deadline: the earlier of the caller's and the context's, never further than
    // grpc-js servers can read (MAX_GRPC_TIMEOUT_MS).
    const own = callOptions.deadline;
    const ownMs = own === undefined ? Number.POSITIVE_INFINITY : deadlineMs(own);
    const deadline = Math.min(ctx.deadline ?? Number.POSITIVE_INFINITY, ownMs);
    let next: InterceptingCallInterface;
    if (deadline === Number.POSITIVE_INFINITY) {
      next = nextCall(callOptions);
    } else {
      const now = Date.now();
      if (deadline <= now) return expiredCall(new DeadlineExceededError());
      const use = deadline - now > MAX_GRPC_TIMEOUT_MS ? now + MAX_GRPC_TIMEOUT_MS : deadline;
      next = use === ownMs ? nextCall(callOptions) : nextCall({ ...callOptions, deadline: use });
    }
    return new ContextCall(next, ctx, signal, override, allow, callOptions.method_definition.path);
  };
}

// grpc-js does not export these two types by name.
type InterceptingCallInterface = ReturnType<NextCall>;
type MessageContext = Parameters<InterceptingCallInterface['sendMessageWithContext']>[0];

function deadlineMs(deadline: Deadline): number {
  return typeof deadline === 'number' ? deadline : deadline.getTime();
}

/** The gRPC status an aborted context's reason means. */
function abortStatus(reason: unknown): { code: grpcStatus; details: string } {
  // A ctxkit reason carries its own status (DeadlineExceededError → 4, CancelledError → 1).
  if (reason instanceof CtxkitError) return { code: reason.grpcCode as number as grpcStatus, details: reason.message };
  return { code: grpcStatus.CANCELLED, details: 'cancelled by the request context' };
}

/**
 * One call under a context: writes the context's keys into the outgoing metadata and cancels the
 * call when the context aborts. It is its own abort listener (`handleEvent`) and its own inner
 * listener, so a call allocates no closures; the abort listener goes when the status arrives.
 */
class ContextCall extends InterceptingCall implements InterceptingListener, TraceSink {
  readonly #ctx: RequestContext;
  readonly #signal: AbortSignal;
  readonly #override: boolean;
  readonly #allow: ((key: string) => boolean) | undefined;
  readonly #path: string;
  #listener: Partial<InterceptingListener> | undefined = undefined;
  #span: CallSpan | undefined = undefined;
  /** The metadata being prepared, while the tracer writes it (the call is its own sink). */
  #md: Metadata | undefined = undefined;

  constructor(
    next: InterceptingCallInterface,
    ctx: RequestContext,
    signal: AbortSignal,
    override: boolean,
    allow: ((key: string) => boolean) | undefined,
    path: string,
  ) {
    super(next);
    this.#ctx = ctx;
    this.#signal = signal;
    this.#override = override;
    this.#allow = allow;
    this.#path = path;
  }

  override start(metadata: Metadata, listener?: Partial<InterceptingListener>): void {
    // A copy, not the caller's object: callers reuse Metadata objects across calls, and keys
    // written into theirs would pass for explicit ones on the next call under another context.
    const md = metadata.clone();
    injectContext(this.#ctx, this.#override ? metadataSetter : metadataSetIfAbsent, md, this.#allow);
    // With OpenTelemetry on: the call's client span, unless grpc-js's instrumentation (which
    // runs before interceptors) already made one and wrote its traceparent.
    this.#md = md;
    this.#span = startCallTrace(this.#ctx, { transport: 'grpc', method: this.#path, target: '' }, this, this.#allow);
    this.#md = undefined;
    this.#listener = listener;
    this.#signal.addEventListener('abort', this);
    try {
      super.start(md, this);
    } catch (error) {
      this.#signal.removeEventListener('abort', this);
      throw error;
    }
  }

  has(key: string): boolean {
    return this.#md!.get(key).length !== 0;
  }

  set(key: string, value: string): void {
    this.#md!.set(key, value);
  }

  /** The context aborted: cancel the call with the status its reason means. */
  handleEvent(): void {
    const { code, details } = abortStatus(this.#signal.reason);
    this.cancelWithStatus(code, details);
  }

  onReceiveMetadata(metadata: Metadata): void {
    this.#listener?.onReceiveMetadata?.(metadata);
  }

  onReceiveMessage(message: unknown): void {
    this.#listener?.onReceiveMessage?.(message);
  }

  onReceiveStatus(status: StatusObject): void {
    this.#signal.removeEventListener('abort', this);
    this.#span?.end(status.code, undefined);
    this.#span = undefined;
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
    this.#status = { code, details, metadata: new Metadata() };
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
