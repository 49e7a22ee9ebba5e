import {
  type Metadata,
  type ServerInterceptingCallInterface,
  type ServerInterceptor,
  type ServerMethodDefinition,
  ServerInterceptingCall,
} from '@grpc/grpc-js';
import { type OwnedContext, runWithContext } from '@ctxkit/core';
import { abortCallContext, CONTEXT_SLOT, compileOpenContext, type OpenContext, type ServerContextOptions } from './server-context.js';

// grpc-js does not export these two types by name.
type InterceptingServerListener = Parameters<ServerInterceptingCallInterface['start']>[0];
type PartialStatusObject = Parameters<ServerInterceptingCallInterface['sendStatus']>[0];

/** Options of {@link serverInterceptor}. */
export interface ServerInterceptorOptions extends ServerContextOptions {}

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
  return function ctxkitServerInterceptor(
    _method: ServerMethodDefinition<unknown, unknown>,
    call: ServerInterceptingCallInterface,
  ): ServerInterceptingCall {
    return new ContextServerCall(call, open);
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
  #ctx: OwnedContext | undefined = undefined;
  #finished = false;

  constructor(next: ServerInterceptingCallInterface, open: OpenContext) {
    super(next);
    this.#next = next;
    this.#open = open;
  }

  override start(listener: InterceptingServerListener): void {
    this.#listener = listener;
    this.#next.start(this);
  }

  onReceiveMetadata(metadata: Metadata): void {
    const listener = this.#listener!;
    const ctx = this.#open(metadata, this.#next);
    this.#ctx = ctx;
    metadata.setOpaque(CONTEXT_SLOT, ctx);
    runWithContext(ctx, receiveMetadata, listener, metadata);
  }

  onReceiveMessage(message: unknown): void {
    const listener = this.#listener!;
    const ctx = this.#ctx;
    if (ctx === undefined) listener.onReceiveMessage(message);
    else runWithContext(ctx, receiveMessage, listener, message);
  }

  onReceiveHalfClose(): void {
    const listener = this.#listener!;
    const ctx = this.#ctx;
    if (ctx === undefined) listener.onReceiveHalfClose();
    else runWithContext(ctx, receiveHalfClose, listener);
  }

  // grpc-js calls onCancel after every call, also after a status was sent: only a call whose
  // handler had not sent its status was cancelled (or timed out, when grpc-js sent
  // DEADLINE_EXCEEDED itself). A handler that already answered has finished its work.
  onCancel(): void {
    const ctx = this.#ctx;
    if (ctx !== undefined && !this.#finished) {
      this.#finished = true;
      abortCallContext(ctx, this.#next);
    }
    this.#listener?.onCancel();
  }

  override sendStatus(status: PartialStatusObject): void {
    if (!this.#finished) {
      this.#finished = true;
      this.#ctx?.end();
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
