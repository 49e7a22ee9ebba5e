import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { composeErrorHandler, ctxkitErrorHandler } from '../src/index.js';
import { call, closeAll, listen, makeApp } from './helpers.js';

afterEach(closeAll);

function routes(app: FastifyInstance): void {
  app.get('/grpc', async () => {
    throw Object.assign(new Error('5 NOT_FOUND: x'), { code: 5, details: 'x' });
  });
  app.get('/unknown', async () => {
    throw new Error('connect ECONNREFUSED 10.1.2.3:5432 password=hunter2');
  });
  app.get('/validated', { schema: { querystring: { type: 'object', required: ['q'], properties: { q: { type: 'string' } } } } }, async () => ({}));
  // Waits for the context's deadline: ctxkit's 504, whatever the error handler.
  app.get('/slow', async (request) => {
    await new Promise((resolve) => request.ctx.signal.addEventListener('abort', resolve, { once: true }));
    return { late: true };
  });
  app.get('/handler-timeout', { handlerTimeout: 40 }, async (request) => {
    await new Promise((resolve) => request.ctx.signal.addEventListener('abort', resolve, { once: true }));
    return { late: true };
  });
}

/** The application's own handler: a teapot for every error, so any answer from it is visible. */
function teapot(_error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  reply.code(418).send({ mine: true });
}

describe('ctxkitErrorHandler, installed by the application', () => {
  async function errorApp() {
    const { app, log } = await makeApp({ defaultTimeoutMs: 5000 });
    app.setErrorHandler(ctxkitErrorHandler);
    routes(app);
    return { port: await listen(app), log };
  }

  it('maps a gRPC status error to its HTTP status with a JSON body and the trace id', async () => {
    const { port } = await errorApp();
    const res = await call(port, '/grpc');
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.json()).toEqual({ code: 'NOT_FOUND', message: 'x', traceId: res.headers['trace-id'] });
  });

  it('answers an unknown error 500 without internals, and logs it in full with the trace id', async () => {
    const { port, log } = await errorApp();
    const res = await call(port, '/unknown');
    expect(res.status).toBe(500);
    expect(res.json()).toEqual({ code: 'INTERNAL', message: 'internal error', traceId: res.headers['trace-id'] });
    expect(res.body).not.toContain('hunter2');
    const line = await log.waitFor((l) => l.msg === 'request failed');
    expect(line['trace-id']).toBe(res.headers['trace-id']);
    expect((line.err as { message: string }).message).toContain('hunter2');
  });

  it('keeps a Fastify 4xx (validation) with its message', async () => {
    const { port } = await errorApp();
    const res = await call(port, '/validated');
    expect(res.status).toBe(400);
    expect(res.json()).toMatchObject({ code: 'INVALID_ARGUMENT', traceId: res.headers['trace-id'] });
  });
});

describe("the application's error handler is the application's", () => {
  it('an app-level setErrorHandler made before register(ctxkit) survives it', async () => {
    const { app } = await makeApp({}, {}, (app) => {
      app.setErrorHandler(teapot);
    });
    routes(app);
    const port = await listen(app);
    expect((await call(port, '/unknown')).status).toBe(418);
    expect((await call(port, '/grpc')).json()).toEqual({ mine: true });
  });

  it('registers under allowErrorHandlerOverride: false with the app handler set first', async () => {
    const { app } = await makeApp({}, { allowErrorHandlerOverride: false }, (app) => {
      app.setErrorHandler(teapot);
    });
    routes(app);
    const port = await listen(app);
    expect((await call(port, '/unknown')).status).toBe(418);
  });

  it('the app may still install its handler after register(ctxkit) under allowErrorHandlerOverride: false', async () => {
    const { app } = await makeApp({}, { allowErrorHandlerOverride: false });
    app.setErrorHandler(teapot);
    routes(app);
    const port = await listen(app);
    expect((await call(port, '/unknown')).status).toBe(418);
  });

  it("without any handler installed, Fastify's default one answers the app's errors", async () => {
    const { app } = await makeApp();
    routes(app);
    const port = await listen(app);
    const res = await call(port, '/unknown');
    expect(res.status).toBe(500);
    expect(res.json()).toMatchObject({ statusCode: 500, error: 'Internal Server Error' });
  });

  it("ctxkit's deadline 504 does not depend on the app's error handler (nor Fastify's handler timeout)", async () => {
    const { app } = await makeApp({ defaultTimeoutMs: 40 });
    app.setErrorHandler(teapot);
    routes(app);
    const port = await listen(app);
    for (const path of ['/slow', '/handler-timeout']) {
      const res = await call(port, path);
      expect(res.status, path).toBe(504);
      expect(res.json()).toEqual({ code: 'DEADLINE_EXCEEDED', message: 'deadline exceeded', traceId: res.headers['trace-id'] });
    }
    const zero = await call(port, '/slow', { headers: { 'request-timeout-ms': '0' } });
    expect(zero.status).toBe(504);
    expect(zero.json().code).toBe('DEADLINE_EXCEEDED');
  });
});

describe('composeErrorHandler', () => {
  it("answers ctxkit and gRPC status errors as ctxkit does and hands every other error to the app's", async () => {
    const { app } = await makeApp();
    app.setErrorHandler(composeErrorHandler(teapot));
    routes(app);
    const port = await listen(app);
    const grpc = await call(port, '/grpc');
    expect(grpc.status).toBe(404);
    expect(grpc.json()).toEqual({ code: 'NOT_FOUND', message: 'x', traceId: grpc.headers['trace-id'] });
    const other = await call(port, '/unknown');
    expect(other.status).toBe(418);
    expect(other.json()).toEqual({ mine: true });
  });

  it("calls the app's handler with Fastify's this", async () => {
    const { app } = await makeApp();
    let self: unknown;
    app.setErrorHandler(
      composeErrorHandler(function own(this: FastifyInstance, _error, _request, reply) {
        self = this;
        reply.code(418).send({});
      }),
    );
    routes(app);
    const port = await listen(app);
    expect((await call(port, '/unknown')).status).toBe(418);
    expect(typeof (self as FastifyInstance).decorate).toBe('function');
  });
});
