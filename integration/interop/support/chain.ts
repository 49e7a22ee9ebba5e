/**
 * The ctxkit ends of the interop chains, in the test process: a gRPC leaf that reports what its
 * context held, and a Fastify edge that calls the next hop over gRPC.
 */
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { currentContext, type RequestContext } from '@ctxkit/core';
import { ctxkit, ctxkitErrorHandler, type CtxkitFastifyOptions } from '@ctxkit/fastify';
import { ClientPool, Status, statusError, wrapService } from '@ctxkit/grpc';
import Fastify, { type FastifyInstance } from 'fastify';
import { PROTO } from './peers.ts';

interface HopRequest {
  action: string;
}
interface HopReply {
  servedBy: string;
}
type RelayClient = grpc.Client & {
  Hop(req: HopRequest, cb: grpc.requestCallback<HopReply>): grpc.ClientUnaryCall;
  Hop(req: HopRequest, md: grpc.Metadata, opts: grpc.CallOptions, cb: grpc.requestCallback<HopReply>): grpc.ClientUnaryCall;
};
type RelayCtor = (new (target: string, creds: grpc.ChannelCredentials, options?: grpc.ClientOptions) => RelayClient) & {
  service: grpc.ServiceDefinition;
};

const definition = protoLoader.loadSync(PROTO, { defaults: true });
export const Relay = (grpc.loadPackageDefinition(definition) as unknown as { interop: { Relay: RelayCtor } }).interop.Relay;

/** What a ctxkit hop saw in its context. */
export interface View {
  readonly traceId: string;
  readonly requestId: string;
  readonly userId: string | undefined;
  readonly remainingMs: number;
  readonly metadata: ReadonlyMap<string, string>;
}

function view(ctx: RequestContext): View {
  return { traceId: ctx.traceId, requestId: ctx.requestId, userId: ctx.userId, remainingMs: ctx.remainingMs(), metadata: ctx.metadata };
}

/** Calls `Hop` on `client` in the current context (the client interceptor carries it). */
export function hop(client: RelayClient, action: string): Promise<HopReply> {
  return new Promise((resolve, reject) => {
    client.Hop({ action }, (error, reply) => (error ? reject(error) : resolve(reply!)));
  });
}

/** A ctxkit gRPC leaf: each call's view, and the reason its context was aborted, if it was. */
export interface Leaf {
  readonly target: string;
  readonly views: View[];
  readonly aborts: unknown[];
  readonly logged: unknown[];
  /** Resolves with the next abort reason (of a call that hangs until its context ends). */
  nextAbort(): Promise<unknown>;
  /** Resolves once a call has arrived. */
  nextCall(): Promise<View>;
  close(): Promise<void>;
}

export async function startLeaf(): Promise<Leaf> {
  const views: View[] = [];
  const aborts: unknown[] = [];
  const logged: unknown[] = [];
  let onAbort: ((reason: unknown) => void) | undefined;
  let onCall: ((v: View) => void) | undefined;
  const server = new grpc.Server();
  server.addService(
    Relay.service,
    wrapService(
      {
        async Hop(call: grpc.ServerUnaryCall<HopRequest, HopReply>): Promise<HopReply> {
          const ctx = currentContext();
          const v = view(ctx);
          views.push(v);
          onCall?.(v);
          const action = call.request.action;
          if (action === 'hang') {
            await new Promise<void>((resolve) => {
              ctx.signal.addEventListener('abort', () => {
                aborts.push(ctx.signal.reason);
                onAbort?.(ctx.signal.reason);
                resolve();
              }, { once: true });
            });
            throw ctx.signal.reason;
          }
          if (action === 'notfound') throw statusError(Status.NOT_FOUND, 'no such sku');
          if (action === 'internal') throw new Error('db at 10.0.0.7 refused password hunter2');
          return { servedBy: 'leaf' };
        },
      },
      { logger: (record) => void logged.push(record) },
    ),
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  return {
    target: `127.0.0.1:${port}`,
    views,
    aborts,
    logged,
    nextAbort: () => new Promise((resolve) => (onAbort = resolve)),
    nextCall: () => new Promise((resolve) => (onCall = resolve)),
    close: () => new Promise((resolve) => server.tryShutdown(() => resolve())),
  };
}

/** A ctxkit Fastify edge whose `GET /hop?action=` calls `Hop` on `next`; `GET /headers` echoes what arrived. */
export interface Edge {
  readonly app: FastifyInstance;
  readonly port: number;
  readonly url: string;
  readonly views: View[];
  /** Contexts of requests that ended by abort, with the reason. */
  readonly aborts: unknown[];
  nextAbort(): Promise<unknown>;
  close(): Promise<void>;
}

export async function startEdge(next: string, options: CtxkitFastifyOptions = {}): Promise<Edge> {
  const pool = new ClientPool({ credentials: grpc.credentials.createInsecure() });
  const client = pool.get(Relay, next);
  const views: View[] = [];
  const aborts: unknown[] = [];
  let onAbort: ((reason: unknown) => void) | undefined;
  const app = Fastify({ logger: false });
  await app.register(ctxkit, {
    defaultTimeoutMs: 3_000,
    maxTimeoutMs: 10_000,
    // The test's "authentication": a bearer token that is the user's name.
    resolveUser: (request) => request.headers.authorization?.replace(/^Bearer /, ''),
    ...options,
  });
  app.setErrorHandler(ctxkitErrorHandler); // gRPC status errors answered with their HTTP status
  app.get<{ Querystring: { action?: string } }>('/hop', async (request) => {
    const ctx = currentContext();
    views.push(view(ctx));
    ctx.signal.addEventListener('abort', () => {
      aborts.push(ctx.signal.reason);
      onAbort?.(ctx.signal.reason);
    }, { once: true });
    const reply = await hop(client, request.query.action ?? 'ok');
    return { servedBy: `${reply.servedBy},edge`, requestId: ctx.requestId, traceId: ctx.traceId };
  });
  app.get('/headers', async (request) => request.headers);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const port = (app.server.address() as AddressInfo).port;
  return {
    app,
    port,
    url: `http://127.0.0.1:${port}`,
    views,
    aborts,
    nextAbort: () => new Promise((resolve) => (onAbort = resolve)),
    close: async () => {
      await app.close();
      pool.close();
    },
  };
}

/** Closes servers and stops peers that were started (undefined when a start failed). */
export async function closeAll(...things: ({ close(): Promise<void> } | { stop(): Promise<void> } | undefined)[]): Promise<void> {
  await Promise.all(things.map((t) => (t === undefined ? undefined : 'close' in t ? t.close() : t.stop())));
}
