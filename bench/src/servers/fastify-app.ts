/**
 * Scenario 1: Fastify 5, `GET /hello` answering a small JSON, in each variant a user could pick.
 * Every variant's handler reads one id from its context, so the comparison includes the read.
 */
import { createRequire } from 'node:module';
import type { FastifyInstance } from 'fastify';
import { type App, CONSTANT_ID, helloBody } from './types.ts';

// require, not import: an OpenTelemetry instrumentation started before must see the load.
const require = createRequire(import.meta.url);

declare module '@fastify/request-context' {
  interface RequestContextData {
    requestId: string | undefined;
    userId: string | undefined;
  }
}

/** The variants of scenario 1, with what each one is. */
export const FASTIFY_VARIANTS = {
  bare: 'Fastify alone',
  'als-hook': 'a hand-written onRequest hook: AsyncLocalStorage.run with the request id from a header',
  ctxkit: '@ctxkit/fastify with defaults (ids, echo, disconnect)',
  'ctxkit-resolve-user': '@ctxkit/fastify as the README shows it: defaultTimeoutMs 5000 and resolveUser (user id from a header)',
  'features-by-hand': 'the features ctxkit-resolve-user has, by hand as cheaply as one can (traceparent, ids, user id, deadline as a number, two echoed headers, close listener, als.run): the floor',
  'request-context': '@fastify/request-context, two values taken from headers',
  'cls-rtracer': 'cls-rtracer Fastify plugin (request id from x-request-id, echoed)',
  otel: 'OpenTelemetry NodeSDK + http instrumentation, batch processor, dropping exporter',
  'ctxkit-otel': '@ctxkit/fastify + OpenTelemetry (as otel, with the ctxkit bridge and propagator)',
} as const;

/** Starts the Fastify app of `variant` on an ephemeral loopback port. */
export async function startFastify(variant: string): Promise<App> {
  const Fastify = require('fastify') as typeof import('fastify').default;
  const app: FastifyInstance = Fastify({ logger: false });
  let read: () => unknown;
  switch (variant) {
    case 'bare':
      read = () => CONSTANT_ID;
      break;
    case 'ctxkit':
    case 'ctxkit-otel':
    case 'ctxkit-resolve-user': {
      const { ctxkit } = await import('@ctxkit/fastify');
      const { currentContext } = await import('@ctxkit/core');
      await app.register(
        ctxkit,
        variant === 'ctxkit-resolve-user'
          ? { defaultTimeoutMs: 5000, resolveUser: (request) => request.headers['x-user-id'] as string | undefined }
          : {},
      );
      read = variant === 'ctxkit-resolve-user' ? () => currentContext().userId : () => currentContext().traceId;
      break;
    }
    case 'als-hook': {
      // What a user writes by hand: one store, entered for the rest of the request.
      const { AsyncLocalStorage } = require('node:async_hooks') as typeof import('node:async_hooks');
      const als = new AsyncLocalStorage<{ requestId: string | undefined }>();
      app.addHook('onRequest', (request, _reply, done) => {
        als.run({ requestId: request.headers['x-request-id'] as string | undefined }, done);
      });
      read = () => als.getStore()?.requestId;
      break;
    }
    case 'features-by-hand': {
      const { featuresByHand } = await import('./features-by-hand.ts');
      const hand = featuresByHand('x-user-id'); // as ctxkit-resolve-user's resolver
      app.addHook('onRequest', (request, reply, done) => {
        hand.als.run(hand.start(request.raw, reply.raw, (name, value) => reply.header(name, value)), done);
      });
      read = () => hand.als.getStore()?.traceId;
      break;
    }
    case 'request-context': {
      const rc = require('@fastify/request-context') as typeof import('@fastify/request-context');
      await app.register(rc.fastifyRequestContext, {
        defaultStoreValues: (request) => ({
          requestId: request.headers['x-request-id'] as string | undefined,
          userId: request.headers['x-user-id'] as string | undefined,
        }),
      });
      read = () => rc.requestContext.get('requestId');
      break;
    }
    case 'cls-rtracer': {
      const rTracer = require('cls-rtracer') as typeof import('cls-rtracer');
      await app.register(rTracer.fastifyPlugin, { useHeader: true, headerName: 'x-request-id', echoHeader: true });
      read = () => rTracer.id();
      break;
    }
    case 'otel': {
      const { trace } = require('@opentelemetry/api') as typeof import('@opentelemetry/api');
      read = () => trace.getActiveSpan()?.spanContext().traceId;
      break;
    }
    default:
      throw new Error(`unknown fastify variant ${variant}`);
  }
  app.get('/hello', async () => helloBody(read()));
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return { port: address.port, close: () => app.close() };
}
