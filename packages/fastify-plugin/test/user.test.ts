import { currentContext } from '@ctxkit/core';
import fp from 'fastify-plugin';
import { afterEach, expect, it } from 'vitest';
import { ctxkitErrorHandler } from '../src/index.js';
import { call, callDownstream, closeAll, listen, makeApp, startDownstream } from './helpers.js';

afterEach(closeAll);

declare module 'fastify' {
  interface FastifyRequest {
    user?: { sub: string };
  }
}

/** Stands for @fastify/jwt: an app-level onRequest hook that authenticates asynchronously. */
const fakeJwt = fp(async (app) => {
  app.decorateRequest('user', undefined);
  app.addHook('onRequest', async (request) => {
    await new Promise((r) => setImmediate(r));
    const token = request.headers.authorization;
    if (token?.startsWith('Bearer ')) request.user = { sub: token.slice(7) };
  });
});

async function userApp(options: Parameters<typeof makeApp>[0] = {}) {
  const downstream = await startDownstream();
  const { app, log } = await makeApp(options, {}, async (a) => {
    await a.register(fakeJwt);
  });
  app.setErrorHandler(ctxkitErrorHandler);
  app.get('/me', async (request) => {
    request.log.info('handling');
    const sent = await callDownstream(downstream.port);
    return { userId: currentContext().userId ?? null, downstreamUser: sent['user-id'] ?? null };
  });
  // A route-level preHandler auth (the @fastify/auth style) runs before resolveUser too.
  app.get('/route-auth', { preHandler: async (request) => { request.user = { sub: 'from-route-hook' }; } }, async () => ({
    userId: currentContext().userId ?? null,
  }));
  return { port: await listen(app), log };
}

it('ignores a user-id header sent by a client at the edge', async () => {
  const { port } = await userApp();
  const body = (await call(port, '/me', { headers: { 'user-id': 'admin' } })).json();
  expect(body).toEqual({ userId: null, downstreamUser: null });
});

it('takes the user from resolveUser after authentication, over a spoofed header, and logs it', async () => {
  const { port, log } = await userApp({ resolveUser: (request) => request.user?.sub });
  const res = await call(port, '/me', { headers: { 'user-id': 'admin', authorization: 'Bearer u-42' } });
  expect(res.json()).toEqual({ userId: 'u-42', downstreamUser: 'u-42' });
  const line = await log.waitFor((l) => l.msg === 'handling');
  expect(line).toMatchObject({ 'trace-id': res.headers['trace-id'], 'request-id': res.headers['request-id'], 'user-id': 'u-42' });
  const done = await log.waitFor((l) => l.msg === 'request completed');
  expect(done['user-id']).toBe('u-42');
});

it('runs resolveUser after a route-level preHandler', async () => {
  const { port } = await userApp({ resolveUser: async (request) => request.user?.sub });
  expect((await call(port, '/route-auth')).json()).toEqual({ userId: 'from-route-hook' });
});

it('answers 500 without internals when resolveUser returns an id that cannot go on the wire', async () => {
  const { port, log } = await userApp({ resolveUser: () => 'bad id, with spaces' });
  const res = await call(port, '/me');
  expect(res.status).toBe(500);
  expect(res.json()).toEqual({ code: 'INTERNAL', message: 'internal error', traceId: res.headers['trace-id'] });
  const line = await log.waitFor((l) => l.msg === 'request failed');
  expect((line.err as { type: string }).type).toBe('InvalidMetadataError');
  expect(line['trace-id']).toBe(res.headers['trace-id']);
});

it('honours user-id from a trusted proxy when a trust rule allows it', async () => {
  const { port } = await userApp({ trust: { keys: ['user-id'], from: ['127.0.0.1'] } });
  expect((await call(port, '/me', { headers: { 'user-id': 'u-7' } })).json()).toEqual({ userId: 'u-7', downstreamUser: 'u-7' });
});

it('does not honour user-id from a peer the trust rule does not list', async () => {
  const { port } = await userApp({ trust: { keys: ['user-id'], from: ['10.0.0.1'] } });
  expect((await call(port, '/me', { headers: { 'user-id': 'u-7' } })).json()).toEqual({ userId: null, downstreamUser: null });
});
