import {
  Metadata,
  type ServerInterceptingCallInterface,
  type ServerInterceptor,
  type ServerMethodDefinition,
  ServerInterceptingCall,
} from '@grpc/grpc-js';
import { type LiveContexts, type OwnedContext, runWithContext, ShutdownError, Status } from '@ctxkit/core';
import { type Admission, RetryPolicy } from '@ctxkit/core/adapter';
import {
  abortCallContext,
  CONTEXT_SLOT,
  compileMinBudget,
  compileOpenContext,
  type MinBudgetOption,
  type OpenContext,
  type ServerContextOptions,
} from './server-context.js';
import { toStatus } from './status-error.js';

// grpc-js does not export these two types by name.
type InterceptingServerListener = Parameters<ServerInterceptingCallInterface['start']>[0];
type PartialStatusObject = Parameters<ServerInterceptingCallInterface['sendStatus']>[0];

/** Where a failed call's answer says "do not retry" (gRFC A6 pushback). */
const PUSHBACK_KEY = RetryPolicy.keysOf('grpc').pushbackKey;

/** Options of {@link serverInterceptor}. */
export interface ServerInterceptorOptions extends ServerContextOptions {
  /**
   * The least time, ms, a method needs to answer usefully: one figure for every method, or
   * figures by full method path (`{ '/shop.Orders/Create': 50 }`). A call with less left (or
   * whose deadline has passed, or that was cancelled) is answered DEADLINE_EXCEEDED at the moment
   * its handler would start, and the handler never starts; counted in `refusedRequests()` under
   * its path and published on `REFUSED_CHANNEL`. Default 0 for every method: only a call whose
   * deadline passed while it waited (in a busy server, behind a slow interceptor) is refused.
   */
  readonly minBudgetMs?: MinBudgetOption;
  /**
   * The server's live contexts, for shutdown as cancellation ({@link shutdownServer}): every call's
   * context is added while it runs, and once a drain began new calls are refused with UNAVAILABLE
   * before their handler starts. Default: none.
   */
  readonly live?: LiveContexts | undefined;
}

/**
 * A grpc-js server interceptor (grpc-js >= 1.10, `new Server({ interceptors })`) that runs every
 * handler of every service, and everything it awaits, inside a ctxkit context built from the
 * incoming metadata (as the trust policy allows), the call's deadline and its cancellation: the
 * context's signal aborts with `DeadlineExceededError` at the deadline and `CancelledError` when
 * the caller cancels; the context is ended when the call finishes. All four call kinds.
 *
 * Errors thrown by handlers are not seen here (grpc-js catches them first): wrap the service with
 * {@link wrapService} for the status mapping.
 *
 * @example
 * const server = new Server({ interceptors: [serverInterceptor()] });
 * server.addService(pkg.Orders.service, wrapService(orders));
 */
export function serverInterceptor(options: ServerInterceptorOptions = {}): ServerInterceptor {
  const open = compileOpenContext(options);
  const budgetOf = compileMinBudget(options.minBudgetMs);
  const live = options.live;
  return function ctxkitServerInterceptor(
    method: ServerMethodDefinition<unknown, unknown>,
    call: ServerInterceptingCallInterface,
  ): ServerInterceptingCall {
    return new ContextServerCall(call, open, method.path, budgetOf(method.path), method.requestStream, live);
  };
}

/**
 * One incoming call. It listens to the call below it directly and hands every event on inside the
 * context: grpc-js invokes the handler synchronously from those events (unary and server
 * streaming on half-close, client streaming and bidi on metadata), so the handler starts in the
 * context and keeps it through its awaits, and stream `data` events come inside it too.
 */
class ContextServerCall extends ServerInterceptingCall implements InterceptingServerListener {
  readonly #next: ServerInterceptingCallInterface;
  readonly #open: OpenContext;
  #listener: InterceptingServerListener | undefined = undefined;
  readonly #path: string;
  readonly #admit: Admission;
  /** Client and bidi streaming handlers start on metadata; unary and server streaming on half-close. */
  readonly #startsOnMetadata: boolean;
  #ctx: OwnedContext | undefined = undefined;
  #finished = false;
  /** Refused before its handler started: nothing more goes on to it. */
  #refused = false;
  readonly #live: LiveContexts | undefined;

  constructor(
    next: ServerInterceptingCallInterface,
    open: OpenContext,
    path: string,
    admit: Admission,
    startsOnMetadata: boolean,
    live: LiveContexts | undefined,
  ) {
    super(next);
    this.#live = live;
    this.#next = next;
    this.#open = open;
    this.#path = path;
    this.#admit = admit;
    this.#startsOnMetadata = startsOnMetadata;
  }

  override start(listener: InterceptingServerListener): void {
    this.#listener = listener;
    this.#next.start(this);
  }

  onReceiveMetadata(metadata: Metadata): void {
    const listener = this.#listener!;
    const live = this.#live;
    if (live !== undefined && !live.accepting) {
      // Draining: refused before its handler starts, as UNAVAILABLE (retryable on another replica).
      this.#refused = this.#finished = true;
      super.sendStatus({ code: Status.UNAVAILABLE, details: new ShutdownError().message, metadata: new Metadata() });
      return;
    }
    const ctx = this.#open(metadata, this.#next);
    this.#ctx = ctx;
    live?.add(ctx);
    metadata.setOpaque(CONTEXT_SLOT, ctx);
    if (this.#startsOnMetadata && this.#refuses(ctx)) return;
    runWithContext(ctx, receiveMetadata, listener, metadata);
  }

  onReceiveMessage(message: unknown): void {
    if (this.#refused) return;
    const listener = this.#listener!;
    const ctx = this.#ctx;
    if (ctx === undefined) listener.onReceiveMessage(message);
    else runWithContext(ctx, receiveMessage, listener, message);
  }

  onReceiveHalfClose(): void {
    if (this.#refused) return;
    const listener = this.#listener!;
    const ctx = this.#ctx;
    if (ctx === undefined) listener.onReceiveHalfClose();
    else if (!this.#startsOnMetadata && this.#refuses(ctx)) return;
    else runWithContext(ctx, receiveHalfClose, listener);
  }

  /**
   * Admission, at the event that starts the handler: the time is read then, so a call that
   * waited (in a busy loop's queue, behind an interceptor before this one) is judged on what is
   * left when it would start. A refused call gets its status here and its handler never starts.
   */
  #refuses(ctx: OwnedContext): boolean {
    const refused = this.#admit(ctx, this.#path, this.#next);
    if (refused === undefined) return false;
    this.#refused = true;
    const { status } = toStatus(refused);
    this.sendStatus({ code: status.code, details: status.details, metadata: status.metadata });
    return true;
  }

  // grpc-js calls onCancel after every call, also after a status was sent: only a call whose
  // handler had not sent its status was cancelled (or timed out, when grpc-js sent
  // DEADLINE_EXCEEDED itself). A handler that already answered has finished its work.
  onCancel(): void {
    const ctx = this.#ctx;
    if (ctx !== undefined && !this.#finished) {
      this.#finished = true;
      abortCallContext(ctx, this.#next);
      this.#live?.delete(ctx);
    }
    this.#listener?.onCancel();
  }

  override sendStatus(status: PartialStatusObject): void {
    const ctx = this.#ctx;
    if (!this.#finished) {
      this.#finished = true;
      if (ctx !== undefined) {
        ctx.end();
        this.#live?.delete(ctx);
      }
    }
    // This request's own calls gave up retrying: retrying it would multiply them (gRFC A6 pushback).
    if (status.code !== Status.OK && RetryPolicy.spent(ctx)) {
      const metadata = status.metadata?.clone() ?? new Metadata();
      metadata.set(PUSHBACK_KEY, '-1');
      status = { ...status, metadata };
    }
    super.sendStatus(status);
  }
}

// Static functions handed their arguments: no closure per event of every call.
function receiveMetadata(listener: InterceptingServerListener, metadata: Metadata): void {
  listener.onReceiveMetadata(metadata);
}

function receiveMessage(listener: InterceptingServerListener, message: unknown): void {
  listener.onReceiveMessage(message);
}

function receiveHalfClose(listener: InterceptingServerListener): void {
  listener.onReceiveHalfClose();
}
