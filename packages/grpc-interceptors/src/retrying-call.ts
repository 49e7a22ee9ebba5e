import { type InterceptingListener, type InterceptorOptions, type NextCall, type StatusObject, Metadata, status as grpcStatus } from '@grpc/grpc-js';
import type { StatusCode } from '@ctxkit/core';
import type { OutgoingCall, RetryRun } from '@ctxkit/core/adapter';

// grpc-js does not export these two types by name.
type InterceptingCallInterface = ReturnType<NextCall>;
type MessageContext = Parameters<InterceptingCallInterface['sendMessageWithContext']>[0];

/**
 * One call with retries (unary and server-streaming: one request message, replayed): each attempt
 * is a new call down the interceptor chain with its own deadline inside the budget
 * ({@link RetryRun}) and the policy's attempt key (`grpc-previous-rpc-attempts`) from the second
 * on. An attempt is committed (no more retries) by its status (unary responses) or its first
 * response message (streams); before that its metadata and reply are held back, so the caller
 * sees one call. A failure the policy retries starts the next attempt after the backoff; any
 * other status, or the last, goes to the caller. An abort (the context, or the caller's
 * cancel) stops the loop at once, also during a backoff.
 */
export class RetryingCall implements InterceptingCallInterface {
  #listener: Partial<InterceptingListener> | undefined = undefined;
  #metadata: Metadata | undefined = undefined;
  #message: { readonly value: unknown } | undefined = undefined;
  #halfClosed = false;
  #reading = false;
  #attempt: InterceptingCallInterface | undefined = undefined;
  #attemptDeadline: number | undefined = undefined;
  #held: Metadata | undefined = undefined;
  #reply: { readonly value: unknown } | undefined = undefined;
  #committed = false;
  #done = false;
  #cancelled = false;

  constructor(
    readonly options: InterceptorOptions,
    readonly nextCall: NextCall,
    readonly run: RetryRun,
    readonly link: OutgoingCall,
    readonly retryable: ReadonlySet<StatusCode>,
    /** How the first attempt's metadata is prepared (the context's keys, the call's span). */
    readonly prepare: (metadata: Metadata) => void,
  ) {}

  start(metadata: Metadata, listener?: Partial<InterceptingListener>): void {
    const md = metadata.clone();
    this.#listener = listener;
    try {
      this.prepare(md);
    } catch (error) {
      this.link.release();
      throw error;
    }
    this.#metadata = md;
    this.#startAttempt();
  }

  #startAttempt(): void {
    const run = this.run;
    const deadline = run.attemptDeadline(Date.now());
    this.#attemptDeadline = deadline;
    let md = this.#metadata!;
    if (run.attempt > 0) {
      md = md.clone();
      md.set(run.policy.attemptKey, String(run.attempt));
    }
    const options = deadline === undefined ? this.options : { ...this.options, deadline };
    const call = this.nextCall(options);
    this.#attempt = call;
    this.#held = this.#reply = undefined;
    call.start(md, new AttemptListener(this, call));
    if (this.#message !== undefined) call.sendMessageWithContext({}, this.#message.value);
    if (this.#halfClosed) call.halfClose();
    if (this.#reading) call.startRead();
  }

  /** @internal */
  _metadata(call: InterceptingCallInterface, metadata: Metadata): void {
    if (call !== this.#attempt) return;
    if (this.#committed) this.#listener?.onReceiveMetadata?.(metadata);
    else this.#held = metadata;
  }

  /** @internal */
  _message(call: InterceptingCallInterface, message: unknown): void {
    if (call !== this.#attempt) return;
    // A unary response (grpc-js passes null before a failed status) is decided by its status.
    if (!this.#committed && !this.options.method_definition.responseStream) {
      this.#reply = { value: message };
      return;
    }
    if (!this.#committed) this.#commit();
    this.#listener?.onReceiveMessage?.(message);
  }

  #commit(): void {
    this.#committed = true;
    const held = this.#held;
    this.#held = undefined;
    if (held !== undefined) this.#listener?.onReceiveMetadata?.(held);
    const reply = this.#reply;
    this.#reply = undefined;
    if (reply !== undefined) this.#listener?.onReceiveMessage?.(reply.value);
  }

  /** @internal */
  _status(call: InterceptingCallInterface, status: StatusObject): void {
    if (call !== this.#attempt || this.#done) return;
    const code = status.code as number as StatusCode;
    if (status.code !== grpcStatus.OK && !this.#committed && !this.#cancelled && !this.link.released) {
      // An attempt's own deadline, earlier than the call's, is a failure to retry too.
      const timedOut = status.code === grpcStatus.DEADLINE_EXCEEDED && this.#attemptDeadline !== this.run.deadline;
      const policy = this.run.policy;
      const pushback = policy.pushbackMs(status.metadata.get(policy.pushbackKey)[0] as string | undefined);
      const delay = this.run.next(this.retryable.has(code) || timedOut, pushback, Date.now());
      if (delay !== undefined) {
        this.#attempt = undefined;
        this.run.wait(delay, () => this.#startAttempt());
        return;
      }
    }
    this.#finish(status);
  }

  #finish(status: StatusObject): void {
    if (this.#done) return;
    this.#done = true;
    if (!this.#committed) this.#commit();
    const link = this.link;
    link.status = status.code;
    link.release();
    // grpc-js's deadline timer and the context's fire at the same instant, in either order.
    if (status.code === grpcStatus.DEADLINE_EXCEEDED && this.#attemptDeadline === this.run.deadline) link.deadlinePassed();
    this.#listener?.onReceiveStatus?.(status);
  }

  cancelWithStatus(code: grpcStatus, details: string): void {
    this.#cancelled = true;
    if (this.#attempt !== undefined) {
      this.#attempt.cancelWithStatus(code, details);
      return;
    }
    // Between attempts: no call to cancel, the loop stops here.
    this.run.cancel();
    process.nextTick(() => this.#finish({ code, details, metadata: new Metadata() }));
  }

  getPeer(): string {
    return this.#attempt?.getPeer() ?? '';
  }

  sendMessageWithContext(context: MessageContext, message: unknown): void {
    this.#message = { value: message };
    this.#attempt?.sendMessageWithContext(context, message);
  }

  sendMessage(message: unknown): void {
    this.sendMessageWithContext({}, message);
  }

  startRead(): void {
    this.#reading = true;
    this.#attempt?.startRead();
  }

  halfClose(): void {
    this.#halfClosed = true;
    this.#attempt?.halfClose();
  }

  getAuthContext() {
    return this.#attempt?.getAuthContext() ?? null;
  }
}

/** The listener of one attempt: hands its events to the call, which ignores a superseded attempt's. */
class AttemptListener implements InterceptingListener {
  constructor(
    readonly owner: RetryingCall,
    readonly call: InterceptingCallInterface,
  ) {}

  onReceiveMetadata(metadata: Metadata): void {
    this.owner._metadata(this.call, metadata);
  }

  onReceiveMessage(message: unknown): void {
    this.owner._message(this.call, message);
  }

  onReceiveStatus(status: StatusObject): void {
    this.owner._status(this.call, status);
  }
}
