import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { defineKey, tryCurrentContext } from '@ctxkit/core';

/** A custom propagated key, declared as an application would. */
export const tenantId = defineKey('tenant-id');

export interface Req {
  text?: string;
}
export interface Seen {
  traceId: string;
  userId: string;
  tenant: string;
  deadline: number;
  hasContext: boolean;
  text: string;
  requestId: string;
}

type ProbeClientCtor = new (target: string, creds: grpc.ChannelCredentials, options?: grpc.ClientOptions) => ProbeClient;
export interface ProbeClient extends grpc.Client {
  unary(req: Req, cb: grpc.requestCallback<Seen>): grpc.ClientUnaryCall;
  unary(req: Req, md: grpc.Metadata, cb: grpc.requestCallback<Seen>): grpc.ClientUnaryCall;
  unary(req: Req, md: grpc.Metadata, opts: grpc.CallOptions, cb: grpc.requestCallback<Seen>): grpc.ClientUnaryCall;
  serverStream(req: Req, md?: grpc.Metadata, opts?: grpc.CallOptions): grpc.ClientReadableStream<Seen>;
  clientStream(cb: grpc.requestCallback<Seen>): grpc.ClientWritableStream<Req>;
  clientStream(md: grpc.Metadata, opts: grpc.CallOptions, cb: grpc.requestCallback<Seen>): grpc.ClientWritableStream<Req>;
  bidi(md?: grpc.Metadata, opts?: grpc.CallOptions): grpc.ClientDuplexStream<Req, Seen>;
}

const definition = protoLoader.loadSync(fileURLToPath(new URL('./fixtures/probe.proto', import.meta.url)), {
  longs: Number,
  defaults: true,
});
const loaded = grpc.loadPackageDefinition(definition) as unknown as {
  ctxkit: { test: { Probe: ProbeClientCtor & { service: grpc.ServiceDefinition } } };
};
export const Probe = loaded.ctxkit.test.Probe;

/** What the current context looks like, as a handler reports it. */
export function seen(text = ''): Seen {
  const ctx = tryCurrentContext();
  return {
    traceId: ctx?.traceId ?? '',
    userId: ctx?.userId ?? '',
    tenant: ctx?.get(tenantId) ?? '',
    deadline: ctx?.deadline ?? 0,
    hasContext: ctx !== undefined,
    text,
    requestId: ctx?.requestId ?? '',
  };
}

export interface Running {
  readonly server: grpc.Server;
  readonly target: string;
  close(): Promise<void>;
}

/** Starts a real server on an ephemeral port of 127.0.0.1. */
export async function startServer(
  impl: grpc.UntypedServiceImplementation,
  options: grpc.ServerOptions = {},
): Promise<Running> {
  const server = new grpc.Server(options);
  server.addService(Probe.service, impl);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    server,
    target: `127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.forceShutdown();
        resolve();
      }),
  };
}

/** A client of `target` with the given interceptors. */
export function probeClient(target: string, interceptors: grpc.Interceptor[] = []): ProbeClient {
  return new Probe(target, grpc.credentials.createInsecure(), { interceptors });
}

/** Makes a unary call and resolves with its result or rejects with its ServiceError. */
export function unary(client: ProbeClient, req: Req = {}, md = new grpc.Metadata(), opts: grpc.CallOptions = {}): Promise<Seen> {
  return new Promise((resolve, reject) => {
    client.unary(req, md, opts, (err, res) => (err ? reject(err) : resolve(res!)));
  });
}

/** Resolves when `p` does, or rejects after `ms` (a bound, never an assertion on time). */
export async function within<T>(ms: number, p: Promise<T>, what = 'event'): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves with the abort reason once `signal` aborts. */
export function aborted(signal: AbortSignal): Promise<unknown> {
  if (signal.aborted) return Promise.resolve(signal.reason);
  return once(signal, 'abort').then(() => signal.reason);
}

/** A promise with its resolve function outside. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}
