/**
 * The test chain's hops, built from the packages directly: a Fastify hop (the edge, or an
 * internal HTTP service), a gRPC hop (server interceptor + wrapService), each of which does what
 * the request's {@link Plan} tells it, and reports what it received.
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { currentContext, DeadlineExceededError, withTimeout, withValues } from '@ctxkit/core';
import { createFetch, type CtxFetch } from '@ctxkit/core/fetch';
import { ctxkit, ctxkitErrorHandler as fastifyErrorHandler, type CtxkitFastifyOptions } from '@ctxkit/fastify';
import { clientInterceptor, serverInterceptor, type ServerInterceptorOptions, wrapService } from '@ctxkit/grpc';
import { Server, ServerCredentials, type ServerUnaryCall } from '@grpc/grpc-js';
import { ctxkit as ctxkitExpress, ctxkitErrorHandler, type CtxkitExpressOptions } from '@ctxkit/express';
import express from 'express';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { Logger } from 'pino';
import { type HopClient, hopClient, hopService, metadataPairs, type Plan, type Report, type StepError } from './hop-service.ts';
import { sleep } from '@ctxkit/test-support/wait';

/** A running hop. */
export interface Hop {
  readonly name: string;
  /** `127.0.0.1:port` for gRPC, `http://127.0.0.1:port/call` for HTTP. */
  readonly target: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Downstream clients one hop shares across requests (one per target, as the seed asks). */
export class Downstream {
  readonly #clients = new Map<string, HopClient>();
  readonly fetch: CtxFetch = createFetch({ missingContext: 'throw' });

  grpc(target: string): HopClient {
    let client = this.#clients.get(target);
    if (client === undefined) {
      client = hopClient(target, { interceptors: [clientInterceptor({ missingContext: 'throw' })] });
      this.#clients.set(target, client);
    }
    return client;
  }

  close(): void {
    for (const c of this.#clients.values()) c.close();
    this.#clients.clear();
  }
}


/** Runs a plan in the current context and reports what this hop saw. */
export async function runPlan(
  service: string,
  received: readonly (readonly [string, string])[],
  plan: Plan,
  down: Downstream,
  log?: Logger,
): Promise<Report> {
  const ctx = currentContext();
  log?.info({ hop: service }, 'hop start');
  const report: Report = {
    service,
    received,
    ctx: {
      traceId: ctx.traceId,
      requestId: ctx.requestId,
      userId: ctx.userId ?? null,
      metadata: Object.fromEntries(ctx.metadata),
      remainingMs: ctx.deadline === undefined ? null : ctx.remainingMs(),
    },
    children: [],
  };
  if (plan.workMs) {
    try {
      await sleep(plan.workMs, ctx.signal);
    } catch (reason) {
      log?.info({ hop: service, reason: (reason as { code?: string }).code }, 'hop aborted');
      throw reason;
    }
  }
  if (plan.fail !== undefined) throw new Error(plan.fail);
  const callAll = async () => {
    for (const step of plan.calls ?? []) {
      const call = () => callStep(step.kind, step.target, step.plan ?? {}, down);
      const child = step.timeoutMs === undefined ? await call() : await withTimeout(step.timeoutMs, call);
      (report.children as (Report | StepError)[]).push(child);
      // This hop's own deadline or cancellation ends it with that status (504/499, gRPC 4/1);
      // a failure of a child alone (its own shorter timeout, an unavailable server) is reported.
      if (ctx.signal.aborted) throw ctx.signal.reason;
      // The child's deadline and ours are the same instant: do not wait for our timer to say so.
      if (ctx.deadline !== undefined && ctx.remainingMs() === 0) throw new DeadlineExceededError();
    }
  };
  if (plan.setValues) await withValues(plan.setValues, callAll);
  else await callAll();
  log?.info({ hop: service }, 'hop end');
  return report;
}

async function callStep(kind: 'grpc' | 'http', target: string, plan: Plan, down: Downstream): Promise<Report | StepError> {
  try {
    if (kind === 'grpc') return await down.grpc(target).call(plan);
    const res = await down.fetch(target, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(plan),
    });
    const body = (await res.json()) as Report | { code: string; message: string };
    if (res.ok) return body as Report;
    const e = body as { code: string; message: string };
    return { error: { code: e.code, message: e.message } };
  } catch (error) {
    const e = error as { code?: number | string; name?: string; details?: string; message?: string };
    return { error: { code: e.code ?? e.name ?? 'unknown', message: e.details ?? e.message ?? String(error) } };
  }
}

/** Starts a gRPC hop on 127.0.0.1. */
export async function startGrpcHop(
  name: string,
  options: ServerInterceptorOptions & { log?: Logger; port?: number; channelOptions?: Record<string, number> } = {},
): Promise<Hop> {
  const down = new Downstream();
  const server = new Server({ ...options.channelOptions, interceptors: [serverInterceptor(options)] });
  server.addService(
    hopService,
    wrapService(
      {
        async call(call: ServerUnaryCall<Plan, Report>) {
          return runPlan(name, metadataPairs(call.metadata), call.request, down, options.log);
        },
      },
      options.log === undefined ? {} : { logger: (rec) => options.log!.error(rec, 'handler failed') },
    ),
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${options.port ?? 0}`, ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  return {
    name,
    port,
    target: `127.0.0.1:${port}`,
    async close() {
      down.close();
      await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
      server.forceShutdown();
    },
  };
}

/** Starts a Fastify hop (`POST /call`) with the ctxkit plugin. */
export async function startFastifyHop(
  name: string,
  options: CtxkitFastifyOptions & { log?: Logger; fastify?: FastifyServerOptions } = {},
): Promise<Hop & { app: FastifyInstance }> {
  const down = new Downstream();
  const { log, fastify, ...plugin } = options;
  const app: FastifyInstance = Fastify({ ...fastify, ...(log === undefined ? {} : { loggerInstance: log }) });
  await app.register(ctxkit, plugin);
  app.setErrorHandler(fastifyErrorHandler);
  app.post('/call', async (request) => {
    const raw = request.raw.rawHeaders;
    const received: [string, string][] = [];
    for (let i = 0; i < raw.length; i += 2) received.push([raw[i]!.toLowerCase(), raw[i + 1]!]);
    return runPlan(name, received, (request.body ?? {}) as Plan, down, request.log as Logger);
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as AddressInfo).port;
  return {
    name,
    app,
    port,
    target: `http://127.0.0.1:${port}/call`,
    async close() {
      down.close();
      if (app.server.listening) {
        app.server.closeAllConnections();
        await app.close();
      }
    },
  };
}

/** Starts an Express 5 hop (`POST /call`) with the ctxkit middleware and error handler. */
export async function startExpressHop(name: string, options: CtxkitExpressOptions & { log?: Logger } = {}): Promise<Hop> {
  const down = new Downstream();
  const { log, ...mw } = options;
  const app = express();
  app.use(ctxkitExpress(mw));
  app.use(express.json());
  app.post('/call', async (req, res) => {
    const raw = req.rawHeaders;
    const received: [string, string][] = [];
    for (let i = 0; i < raw.length; i += 2) received.push([raw[i]!.toLowerCase(), raw[i + 1]!]);
    res.json(await runPlan(name, received, (req.body ?? {}) as Plan, down, log));
  });
  app.use(ctxkitErrorHandler(log === undefined ? { logger: false } : { logger: log }));
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  return {
    name,
    port,
    target: `http://127.0.0.1:${port}/call`,
    async close() {
      down.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Waits for `emitter` to emit `event`, failing after `ms`. */
export async function waitFor(emitter: NodeJS.EventEmitter, event: string, ms = 5000): Promise<unknown[]> {
  return once(emitter, event, { signal: AbortSignal.timeout(ms) });
}
