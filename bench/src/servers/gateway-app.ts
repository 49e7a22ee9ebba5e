/**
 * The Fastify gateway of scenarios 4 and 6: `GET /order?work=N` calls the upstream gRPC service
 * and answers its reply as JSON. `ctxkit`: the plugin (5 s default budget, user from the auth
 * header via resolveUser) and the client interceptor. `manual`: the same ids, user, budget,
 * deadline and disconnect handling written by hand into each call. `by-hand`: the same written
 * by hand as the issue puts it, an onRequest hook entering an AsyncLocalStorage and the client
 * interceptor of `by-hand-grpc.ts` taking the ids and the deadline from it.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import type * as GrpcJs from '@grpc/grpc-js';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type EchoClient, type EchoReply, type EchoRequest, loadEcho, loadGrpc } from '../lib/grpc.ts';
import { type HandStore, handStorage } from './by-hand-grpc.ts';
import type { App, AppConfig } from './types.ts';

const require = createRequire(import.meta.url);
const DEFAULT_BUDGET_MS = 5000;
const MAX_BUDGET_MS = 30_000;

/** Counts of what the gateway answered, by HTTP status. */
const statuses: Record<string, number> = {};
function count(status: number): void {
  statuses[status] = (statuses[status] ?? 0) + 1;
}

/** Upstream failures by gRPC code, with the first message of each (to explain unexpected answers). */
const upstreamErrors: Record<string, { count: number; first: string }> = {};
/**
 * Calls failed because the upstream server closed the HTTP/2 session: Node's RST_STREAM rate
 * limiter (rapid-reset mitigation, burst 1000 then 33/s per session) does that when callers
 * cancel many calls; see grpc/grpc-node#2872. Counted apart so the soak can tell them from others.
 */
let sessionResets = 0;

function noteUpstreamError(error: unknown): void {
  const e = error as Partial<GrpcJs.ServiceError>;
  if (e.code === 13 && String(e.details ?? '').includes('Session closed with error code')) sessionResets++;
  const key = String(e.code ?? 'none');
  const seen = upstreamErrors[key];
  if (seen === undefined) upstreamErrors[key] = { count: 1, first: String(e.message ?? error).slice(0, 300) };
  else seen.count++;
}

/** Starts the gateway of `variant` in front of `config.upstream`. */
export async function startGateway(variant: string, config: AppConfig): Promise<App> {
  if (config.upstream === undefined) throw new Error('the gateway needs an upstream');
  const grpc = loadGrpc();
  const { Client } = loadEcho(grpc);
  const Fastify = require('fastify') as typeof import('fastify').default;
  const app: FastifyInstance = Fastify({ logger: false });
  app.addHook('onResponse', (_request, reply, done) => {
    count(reply.statusCode);
    done();
  });
  let upstream: EchoClient;
  if (variant === 'ctxkit') {
    const { ctxkit, ctxkitErrorHandler } = await import('@ctxkit/fastify');
    const { clientOptions } = await import('./ctxkit-grpc.ts');
    await app.register(ctxkit, {
      defaultTimeoutMs: DEFAULT_BUDGET_MS,
      maxTimeoutMs: MAX_BUDGET_MS,
      resolveUser: (request) => request.headers['x-user-id'] as string | undefined,
    });
    app.setErrorHandler(ctxkitErrorHandler);
    upstream = new Client(config.upstream, grpc.credentials.createInsecure(), clientOptions());
    app.get('/order', (request) => call(upstream, new grpc.Metadata(), {}, orderRequest(request)));
  } else if (variant === 'by-hand') {
    const { byHandClientOptions } = await import('./by-hand-grpc.ts');
    app.addHook('onRequest', (request, reply, done) => {
      handStorage.run(handStore(request, reply), done);
    });
    upstream = new Client(config.upstream, grpc.credentials.createInsecure(), byHandClientOptions(grpc));
    const { Metadata } = grpc;
    app.get('/order', (request, reply) => byHandOrder(upstream, Metadata, request, reply));
  } else if (variant === 'manual') {
    upstream = new Client(config.upstream, grpc.credentials.createInsecure());
    app.get('/order', (request, reply) => manualOrder(grpc, upstream, request, reply));
  } else {
    throw new Error(`unknown gateway variant ${variant}`);
  }
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    port: address.port,
    close: async () => {
      await app.close();
      upstream.close();
    },
    stats: () => ({ statuses: { ...statuses }, upstreamErrors: { ...upstreamErrors }, sessionResets }),
  };
}

function orderRequest(request: FastifyRequest): EchoRequest {
  const work = Number((request.query as { work?: string }).work ?? 0);
  return { text: 'order', count: 0, workMs: Number.isFinite(work) ? work : 0 };
}

function call(client: EchoClient, md: GrpcJs.Metadata, options: GrpcJs.CallOptions, req: EchoRequest): Promise<EchoReply> {
  return new Promise((resolve, reject) => {
    client.Unary(req, md, options, (error, reply) => {
      if (error) {
        noteUpstreamError(error);
        reject(error);
      } else resolve(reply!);
    });
  });
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$/;
const ID = /^[A-Za-z0-9._-]{1,128}$/;
// gRPC status → HTTP status, for the codes this gateway can meet.
const HTTP_OF: Record<number, number> = { 1: 499, 4: 504, 14: 503 };

/** The ids, user and deadline of a request, checked as a careful team checks them, and echoed (both hand-written gateways). */
function handStore(request: FastifyRequest, reply: FastifyReply): HandStore {
  const h = request.headers;
  const tp = typeof h.traceparent === 'string' ? TRACEPARENT.exec(h.traceparent) : null;
  const traceId = tp?.[1] ?? randomBytes(16).toString('hex');
  const rid = h['x-request-id'];
  const requestId = typeof rid === 'string' && ID.test(rid) ? rid : randomUUID();
  const asked = Number(h['request-timeout-ms']);
  const budget = Number.isFinite(asked) && asked >= 0 ? Math.min(asked, MAX_BUDGET_MS) : DEFAULT_BUDGET_MS;
  const user = h['x-user-id'];
  reply.header('trace-id', traceId);
  reply.header('request-id', requestId);
  return { traceId, requestId, userId: typeof user === 'string' && ID.test(user) ? user : undefined, deadline: Date.now() + budget };
}

/** The order through the by-hand interceptor (ids and deadline from the store). */
function byHandOrder(client: EchoClient, Metadata: typeof GrpcJs.Metadata, request: FastifyRequest, reply: FastifyReply): Promise<unknown> {
  return orderCall(client, new Metadata(), {}, request, reply, handStorage.getStore()?.traceId);
}

/** One upstream call of an order, cancelled by hand when the client goes away first; a failure answers its HTTP status. */
async function orderCall(
  client: EchoClient,
  md: GrpcJs.Metadata,
  options: GrpcJs.CallOptions,
  request: FastifyRequest,
  reply: FastifyReply,
  traceId: string | undefined,
): Promise<unknown> {
  try {
    return await new Promise<EchoReply>((resolve, reject) => {
      const res = reply.raw;
      const outgoing = client.Unary(orderRequest(request), md, options, (error, r) => {
        res.removeListener('close', onClose);
        if (error) reject(error);
        else resolve(r!);
      });
      // The client went away before the answer: stop the downstream work.
      const onClose = () => {
        if (!res.writableFinished) outgoing.cancel();
      };
      res.once('close', onClose);
    });
  } catch (error) {
    noteUpstreamError(error);
    const code = (error as GrpcJs.ServiceError).code;
    reply.code(HTTP_OF[code] ?? 502);
    return { code, message: 'upstream failed', traceId };
  }
}

/** What a careful team writes without ctxkit. */
function manualOrder(grpc: typeof GrpcJs, client: EchoClient, request: FastifyRequest, reply: FastifyReply): Promise<unknown> {
  const store = handStore(request, reply);
  const md = new grpc.Metadata();
  md.set('trace-id', store.traceId);
  md.set('request-id', store.requestId);
  if (store.userId !== undefined) md.set('user-id', store.userId);
  return orderCall(client, md, { deadline: store.deadline }, request, reply, store.traceId);
}
