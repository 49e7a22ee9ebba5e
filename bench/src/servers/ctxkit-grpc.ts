/**
 * The ctxkit side of the gRPC servers: the server interceptor and `wrapService` on every
 * server, the client interceptor on every client; handlers read the context, never metadata.
 * Handlers keep the callback style of the bare ones, so only ctxkit's machinery differs.
 */
import type * as GrpcJs from '@grpc/grpc-js';
import { currentContext } from '@ctxkit/core';
import { clientInterceptor, serverInterceptor, wrapService } from '@ctxkit/grpc';
import { type EchoClient, type EchoReply, type EchoRequest, loadGrpc } from '../lib/grpc.ts';

/** Server options with ctxkit's server interceptor. */
export function serverOptions(): GrpcJs.ServerOptions {
  return { interceptors: [serverInterceptor()] };
}

/** Channel options with ctxkit's client interceptor. */
export function clientOptions(): GrpcJs.ClientOptions {
  return { interceptors: [clientInterceptor()] };
}

/** The Echo handlers of `role`, wrapped by `wrapService`. */
export function handlers(role: string, upstream: EchoClient | undefined): GrpcJs.UntypedServiceImplementation {
  const grpc = loadGrpc();
  return wrapService({
    Unary(call: GrpcJs.ServerUnaryCall<EchoRequest, EchoReply>, callback: GrpcJs.sendUnaryData<EchoReply>) {
      if (role === 'middle' && upstream !== undefined) {
        // The interceptor adds the ids, the deadline and the cancellation.
        upstream.Unary(call.request, new grpc.Metadata(), {}, callback);
        return;
      }
      const ctx = currentContext();
      const reply = { text: call.request.text, id: ctx.traceId };
      const workMs = call.request.workMs;
      if (!(workMs > 0)) {
        callback(null, reply);
        return;
      }
      // Work that stops when the context aborts (caller gone or deadline passed).
      const signal = ctx.signal;
      const onAbort = () => {
        clearTimeout(timer);
        callback(signal.reason as Error);
      };
      const timer = setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        callback(null, reply);
      }, workMs);
      signal.addEventListener('abort', onAbort, { once: true });
    },
    Stream(call: GrpcJs.ServerWritableStream<EchoRequest, EchoReply>) {
      const id = currentContext().traceId;
      for (let i = 0; i < call.request.count; i++) call.write({ text: call.request.text, id });
      call.end();
    },
  }) as GrpcJs.UntypedServiceImplementation;
}
