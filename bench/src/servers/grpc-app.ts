/**
 * The gRPC servers: `echo` (scenario 3: unary echo and a server stream), `middle` (calls the
 * next service) and `leaf` (answers, after `workMs` if asked) for the chain and the soak.
 * Variants: `bare`, `otel` (grpc instrumentation), `ctxkit` (server interceptor + wrapService,
 * client interceptor to the next hop), `ctxkit-otel`, `manual`: ids and deadline passed by
 * hand in metadata and call options, what a careful team writes without ctxkit, and `by-hand`:
 * the same through hand-written interceptors and an AsyncLocalStorage.
 */
import { createRequire } from 'node:module';
import type * as GrpcJs from '@grpc/grpc-js';
import { type EchoClient, type EchoReply, type EchoRequest, loadEcho, loadGrpc } from '../lib/grpc.ts';
import { type App, type AppConfig, CONSTANT_ID } from './types.ts';

type Handlers = GrpcJs.UntypedServiceImplementation;

/** The variants of scenario 3. */
export const GRPC_VARIANTS = {
  bare: 'grpc-js alone',
  manual: 'trace, request and user ids in metadata by hand, read by the handler: what the wire costs without ctxkit',
  'by-hand': 'the three ids and the deadline by hand as the issue puts it: a client and a server interceptor around an AsyncLocalStorage (als.run per call and per server event)',
  ctxkit: '@ctxkit/grpc client interceptor + server interceptor and wrapService',
  otel: 'OpenTelemetry NodeSDK + grpc instrumentation (client and server), batch processor, dropping exporter',
  'ctxkit-otel': '@ctxkit/grpc + OpenTelemetry (as otel, with the ctxkit bridge and propagator)',
} as const;

/** Starts a gRPC server of `variant` in `config.role` on an ephemeral loopback port. */
export async function startGrpc(variant: string, config: AppConfig): Promise<App> {
  const grpc = loadGrpc();
  const { service, Client } = loadEcho(grpc);
  const role = config.role ?? 'echo';
  const ctxkit = variant === 'ctxkit' || variant === 'ctxkit-otel';
  const kit = ctxkit ? await import('./ctxkit-grpc.ts') : undefined;
  const byHand = variant === 'by-hand' ? await import('./by-hand-grpc.ts') : undefined;
  let upstream: EchoClient | undefined;
  if (role === 'middle') {
    if (config.upstream === undefined) throw new Error('middle needs an upstream');
    upstream = new Client(config.upstream, grpc.credentials.createInsecure(), kit?.clientOptions() ?? byHand?.byHandClientOptions(grpc) ?? {});
  }
  let handlers: Handlers;
  if (kit !== undefined) handlers = kit.handlers(role, upstream);
  else if (variant === 'manual') handlers = manualHandlers(grpc, role, upstream);
  else if (byHand !== undefined) handlers = byHand.byHandHandlers(grpc, role, upstream);
  else if (variant === 'bare' || variant === 'otel') handlers = plainHandlers(variant === 'otel');
  else throw new Error(`unknown grpc variant ${variant}`);

  const server = new grpc.Server(kit?.serverOptions() ?? byHand?.byHandServerOptions(grpc) ?? {});
  server.addService(service, handlers);
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, p) => (error ? reject(error) : resolve(p)));
  });
  return {
    port,
    close: async () => {
      upstream?.close();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 2000);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
  };
}

/** Echo handlers for `bare` and `otel`; `otel` reads the active span's trace id. */
function plainHandlers(otel: boolean): Handlers {
  let read = (): string => CONSTANT_ID;
  if (otel) {
    const { trace } = loadApi();
    read = () => trace.getActiveSpan()?.spanContext().traceId ?? '';
  }
  return {
    Unary(call: GrpcJs.ServerUnaryCall<EchoRequest, EchoReply>, callback: GrpcJs.sendUnaryData<EchoReply>) {
      callback(null, { text: call.request.text, id: read() });
    },
    Stream(call: GrpcJs.ServerWritableStream<EchoRequest, EchoReply>) {
      const id = read();
      const n = call.request.count;
      for (let i = 0; i < n; i++) call.write({ text: call.request.text, id });
      call.end();
    },
  };
}

function loadApi(): typeof import('@opentelemetry/api') {
  return createRequire(import.meta.url)('@opentelemetry/api') as typeof import('@opentelemetry/api');
}

const FORWARDED = ['trace-id', 'request-id', 'user-id'] as const;

/**
 * The chain written by hand: every hop copies the ids from incoming to outgoing metadata, gives
 * the next call the incoming deadline, and cancels it when its own caller cancels.
 */
function manualHandlers(grpc: typeof GrpcJs, role: string, upstream: EchoClient | undefined): Handlers {
  return {
    Unary(call: GrpcJs.ServerUnaryCall<EchoRequest, EchoReply>, callback: GrpcJs.sendUnaryData<EchoReply>) {
      const traceId = String(call.metadata.get('trace-id')[0] ?? '');
      if (role === 'middle' && upstream !== undefined) {
        const md = new grpc.Metadata();
        for (const key of FORWARDED) {
          const value = call.metadata.get(key)[0];
          if (typeof value === 'string') md.set(key, value);
        }
        const outgoing = upstream.Unary(call.request, md, { deadline: call.getDeadline() }, (error, reply) => {
          call.removeListener('cancelled', onCancelled);
          callback(error, reply);
        });
        const onCancelled = () => outgoing.cancel();
        call.once('cancelled', onCancelled);
        return;
      }
      const reply = { text: call.request.text, id: traceId };
      const workMs = call.request.workMs;
      if (!(workMs > 0)) {
        callback(null, reply);
        return;
      }
      // Work that stops when the caller gives up or the deadline passes.
      const onCancelled = () => clearTimeout(timer);
      const timer = setTimeout(() => {
        call.removeListener('cancelled', onCancelled);
        callback(null, reply);
      }, workMs);
      call.once('cancelled', onCancelled);
    },
    Stream(call: GrpcJs.ServerWritableStream<EchoRequest, EchoReply>) {
      const id = String(call.metadata.get('trace-id')[0] ?? '');
      for (let i = 0; i < call.request.count; i++) call.write({ text: call.request.text, id });
      call.end();
    },
  };
}
