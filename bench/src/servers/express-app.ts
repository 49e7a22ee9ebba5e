/** Scenario 2: Express 5, `GET /hello` answering a small JSON; bare, ctxkit and cls-rtracer. */
import { createRequire } from 'node:module';
import type { Server } from 'node:http';
import { type App, CONSTANT_ID, helloBody } from './types.ts';

const require = createRequire(import.meta.url);

/** The variants of scenario 2. */
export const EXPRESS_VARIANTS = {
  bare: 'Express 5 alone',
  'als-hook': 'a hand-written middleware: AsyncLocalStorage.run with the request id from a header',
  ctxkit: '@ctxkit/express with defaults (ids, echo, disconnect, stream binding)',
  'ctxkit-budget': '@ctxkit/express with defaultTimeoutMs 5000',
  'features-by-hand': 'the features ctxkit-budget has, by hand as cheaply as one can (traceparent, ids, deadline as a number, two echoed headers, close listener, als.run): the floor',
  'cls-rtracer': 'cls-rtracer Express middleware (request id from x-request-id, echoed)',
} as const;

/** Starts the Express app of `variant` on an ephemeral loopback port. */
export async function startExpress(variant: string): Promise<App> {
  const express = require('express') as typeof import('express');
  const app = express();
  app.set('etag', false);
  app.set('x-powered-by', false);
  let read: () => unknown;
  switch (variant) {
    case 'bare':
      read = () => CONSTANT_ID;
      break;
    case 'als-hook': {
      const { AsyncLocalStorage } = require('node:async_hooks') as typeof import('node:async_hooks');
      const als = new AsyncLocalStorage<{ requestId: string | undefined }>();
      app.use((req, _res, next) => als.run({ requestId: req.headers['x-request-id'] as string | undefined }, next));
      read = () => als.getStore()?.requestId;
      break;
    }
    case 'ctxkit':
    case 'ctxkit-budget': {
      const { ctxkit } = await import('@ctxkit/express');
      const { currentContext } = await import('@ctxkit/core');
      app.use(ctxkit(variant === 'ctxkit-budget' ? { defaultTimeoutMs: 5000 } : {}));
      read = () => currentContext().traceId;
      break;
    }
    case 'features-by-hand': {
      const { featuresByHand } = await import('./features-by-hand.ts');
      const hand = featuresByHand();
      app.use((req, res, next) => hand.als.run(hand.start(req, res, (name, value) => res.setHeader(name, value)), next));
      read = () => hand.als.getStore()?.traceId;
      break;
    }
    case 'cls-rtracer': {
      const rTracer = require('cls-rtracer') as typeof import('cls-rtracer');
      app.use(rTracer.expressMiddleware({ useHeader: true, headerName: 'x-request-id', echoHeader: true }));
      read = () => rTracer.id();
      break;
    }
    default:
      throw new Error(`unknown express variant ${variant}`);
  }
  app.get('/hello', (_req, res) => {
    res.json(helloBody(read()));
  });
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(0, '127.0.0.1', (error?: Error) => (error ? reject(error) : resolve(s)));
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
