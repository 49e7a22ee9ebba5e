import { afterEach, expect, it } from 'vitest';
import { call, closeAll, listen, makeApp } from './helpers.js';

afterEach(closeAll);

async function errorApp(errorHandler?: boolean) {
  const { app, log } = await makeApp({ errorHandler });
  app.get('/grpc', async () => {
    throw Object.assign(new Error('5 NOT_FOUND: x'), { code: 5, details: 'x' });
  });
  app.get('/unknown', async () => {
    throw new Error('connect ECONNREFUSED 10.1.2.3:5432 password=hunter2');
  });
  app.get('/validated', { schema: { querystring: { type: 'object', required: ['q'], properties: { q: { type: 'string' } } } } }, async () => ({}));
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

it('leaves errors to the application with errorHandler: false', async () => {
  const { port } = await errorApp(false);
  const res = await call(port, '/unknown');
  expect(res.status).toBe(500);
  expect(res.json()).toMatchObject({ statusCode: 500, error: 'Internal Server Error' });
});
