/**
 * The by-hand baseline for gRPC: what a team writes without ctxkit to carry the three ids
 * and a deadline through grpc-js, one client and one server interceptor around an
 * `AsyncLocalStorage`. The client takes the ids and the deadline from the store; the server puts
 * the incoming ids and deadline in a store around every event of the call, so the handler (and
 * what it awaits) reads them as it would read ctxkit's context. No validation, no trust rule, no
 * cancellation follow-through: less than ctxkit does, which is the point of the comparison.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type * as GrpcJs from '@grpc/grpc-js';
import type { EchoClient, EchoReply, EchoRequest } from '../lib/grpc.ts';

/** What the hand-written store holds. */
export interface HandStore {
  readonly traceId: string;
  readonly requestId: string;
  readonly userId: string | undefined;
  /** Epoch ms; `Infinity` for none. */
  readonly deadline: number;
}

/** The one store of this process. */
export const handStorage = new AsyncLocalStorage<HandStore>();

const IDS = ['trace-id', 'request-id', 'user-id'] as const;

/** Client options: an interceptor writing the store's ids and deadline into each call. */
export function byHandClientOptions(grpc: typeof GrpcJs): GrpcJs.ClientOptions {
  const interceptor: GrpcJs.Interceptor = (options, nextCall) => {
    const store = handStorage.getStore();
    if (store === undefined) return new grpc.InterceptingCall(nextCall(options));
    if (options.deadline === undefined && Number.isFinite(store.deadline)) options = { ...options, deadline: store.deadline };
    return new grpc.InterceptingCall(nextCall(options), {
      start(metadata, listener, next) {
        metadata.set('trace-id', store.traceId);
        metadata.set('request-id', store.requestId);
        if (store.userId !== undefined) metadata.set('user-id', store.userId);
        next(metadata, listener);
      },
    });
  };
  return { interceptors: [interceptor] };
}

function first(metadata: GrpcJs.Metadata, key: string): string | undefined {
  const value = metadata.get(key)[0];
  return typeof value === 'string' ? value : undefined;
}

/** Server options: an interceptor running every event of a call inside a store of its ids. */
export function byHandServerOptions(grpc: typeof GrpcJs): GrpcJs.ServerOptions {
  const interceptor: GrpcJs.ServerInterceptor = (_method, call) => {
    let store: HandStore | undefined;
    return new grpc.ServerInterceptingCall(call, {
      start(next) {
        next({
          onReceiveMetadata(metadata, nextMetadata) {
            const deadline = call.getDeadline();
            store = {
              traceId: first(metadata, IDS[0]) ?? '',
              requestId: first(metadata, IDS[1]) ?? '',
              userId: first(metadata, IDS[2]),
              deadline: typeof deadline === 'number' ? deadline : deadline.getTime(),
            };
            handStorage.run(store, nextMetadata, metadata);
          },
          onReceiveMessage(message, nextMessage) {
            if (store === undefined) nextMessage(message);
            else handStorage.run(store, nextMessage, message);
          },
          onReceiveHalfClose(nextHalfClose) {
            if (store === undefined) nextHalfClose();
            else handStorage.run(store, nextHalfClose);
          },
        });
      },
    });
  };
  return { interceptors: [interceptor] };
}

/**
 * Echo handlers reading the trace id from the hand-written store; in the chain's `middle` role,
 * the call to `upstream` (a client with {@link byHandClientOptions}) takes the ids and deadline
 * from the store through the interceptor, and is cancelled by hand when the caller cancels.
 */
export function byHandHandlers(grpc: typeof GrpcJs, role = 'echo', upstream?: EchoClient): GrpcJs.UntypedServiceImplementation {
  return {
    Unary(call: GrpcJs.ServerUnaryCall<EchoRequest, EchoReply>, callback: GrpcJs.sendUnaryData<EchoReply>) {
      if (role === 'middle' && upstream !== undefined) {
        const outgoing = upstream.Unary(call.request, new grpc.Metadata(), {}, (error, reply) => {
          call.removeListener('cancelled', onCancelled);
          callback(error, reply);
        });
        const onCancelled = () => outgoing.cancel();
        call.once('cancelled', onCancelled);
        return;
      }
      callback(null, { text: call.request.text, id: handStorage.getStore()?.traceId ?? '' });
    },
    Stream(call: GrpcJs.ServerWritableStream<EchoRequest, EchoReply>) {
      const id = handStorage.getStore()?.traceId ?? '';
      for (let i = 0; i < call.request.count; i++) call.write({ text: call.request.text, id });
      call.end();
    },
  };
}
