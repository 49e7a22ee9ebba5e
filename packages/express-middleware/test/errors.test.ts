import { CancelledError, DeadlineExceededError, Status } from '@ctxkit/core';
import type { NextFunction, Request, Response } from 'express';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ctxkit, ctxkitErrorHandler } from '../src/index.js';
import { call, closeAll, listen, majors, traceIdOf } from './helpers.js';

afterEach(() => {
  vi.restoreAllMocks();
  return closeAll();
});

/** A grpc-js style status error (`ServiceError`): code, details, and a message with both. */
function statusError(code: number, details: string): Error {
  return Object.assign(new Error(`${code} ${details}`), { code, details, metadata: {} });
}

const failures: Record<string, () => unknown> = {
  'not-found': () => statusError(Status.NOT_FOUND, 'order 7 not found'),
  denied: () => statusError(Status.PERMISSION_DENIED, 'not your order'),
  unavailable: () => statusError(Status.UNAVAILABLE, 'inventory is down'),
  'grpc-internal': () => statusError(Status.INTERNAL, 'pq: password authentication failed for user "orders"'),
  deadline: () => new DeadlineExceededError(),
  cancelled: () => new CancelledError(),
  plain: () => new Error('connect ECONNREFUSED 10.0.3.7:5432 (secret=hunter2)'),
  string: () => 'a thrown string',
};

describe.each(majors)('%s', (_name, express) => {
  const id = traceIdOf(0xe7);
  const headers = { 'trace-id': id };

  async function serve(logger: { error: (...args: unknown[]) => void } | false) {
    const app = express();
    app.use(ctxkit());
    app.get('/fail/:kind', (req, _res, next) => next(failures[req.params.kind!]!()));
    app.post('/json', express.json({ limit: '1kb' }), (req, res) => res.json(req.body));
    app.get('/late', (_req: Request, res: Response, next: NextFunction) => {
      res.end('ok');
      next(new Error('failed after answering'));
    });
    app.get('/half', (_req: Request, res: Response, next: NextFunction) => {
      res.status(200).write('partial');
      setTimeout(() => next(new Error('failed mid-stream')), 5);
    });
    app.use(ctxkitErrorHandler({ logger }));
    return (await listen(app)).port;
  }

  it.each([
    ['not-found', 404, 'NOT_FOUND', 'order 7 not found'],
    ['denied', 403, 'PERMISSION_DENIED', 'not your order'],
    ['unavailable', 503, 'UNAVAILABLE', 'service unavailable'], // transport detail, hidden by core
    ['grpc-internal', 500, 'INTERNAL', 'internal error'],
    ['deadline', 504, 'DEADLINE_EXCEEDED', 'deadline exceeded'],
    ['cancelled', 499, 'CANCELLED', 'cancelled'],
    ['plain', 500, 'INTERNAL', 'internal error'],
    ['string', 500, 'INTERNAL', 'internal error'],
  ])('%s → %i %s', async (kind, status, code, message) => {
    const logger = { error: vi.fn() };
    const port = await serve(logger);
    const answer = await call(port, `/fail/${kind}`, { headers });
    expect(answer.status).toBe(status);
    expect(answer.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(answer.json()).toEqual({ code, message, traceId: id });
    expect(answer.body).not.toMatch(/password|secret|10\.0\.3\.7|at .*\.ts/);
    // Only unexpected errors are logged, in full and with the request's ids.
    if (status === 500) {
      expect(logger.error).toHaveBeenCalledTimes(1);
      const [fields, text] = logger.error.mock.calls[0]!;
      expect(fields).toMatchObject({ 'trace-id': id, method: 'GET', url: `/fail/${kind}` });
      expect(fields['request-id']).toBe(answer.headers['request-id']);
      expect(text).toBe('unexpected error while serving a request');
    } else {
      expect(logger.error).not.toHaveBeenCalled();
    }
  });

  it('logFieldNames renames the ids of the logged line', async () => {
    const logger = { error: vi.fn() };
    const app = express();
    app.use(ctxkit());
    app.get('/boom', () => {
      throw new Error('boom');
    });
    app.use(ctxkitErrorHandler({ logger, logFieldNames: { traceId: 'trace_id', requestId: 'request_id' } }));
    const answer = await call((await listen(app)).port, '/boom', { headers });
    expect(answer.status).toBe(500);
    const [fields] = logger.error.mock.calls[0]!;
    expect(fields).toMatchObject({ trace_id: id, request_id: answer.headers['request-id'], method: 'GET', url: '/boom' });
    expect(fields).not.toHaveProperty('trace-id');
  });

  it('logs the original error object', async () => {
    const logger = { error: vi.fn() };
    const port = await serve(logger);
    await call(port, '/fail/plain', { headers });
    const err = logger.error.mock.calls[0]![0].err as Error;
    expect(err).toBeInstanceOf(Error);
    expect(err.message).toContain('secret=hunter2');
  });

  it("body-parser's client errors keep their 4xx", async () => {
    const port = await serve(false);
    const json = { ...headers, 'content-type': 'application/json' };
    const malformed = await call(port, '/json', { method: 'POST', headers: json, body: '{"a":' });
    expect(malformed.status).toBe(400);
    expect(malformed.json()).toMatchObject({ code: 'INVALID_ARGUMENT', traceId: id });
    const large = await call(port, '/json', { method: 'POST', headers: json, body: JSON.stringify({ a: 'x'.repeat(5000) }) });
    expect(large.status).toBe(413);
    expect(large.json()).toEqual({ code: 'RESOURCE_EXHAUSTED', message: 'request entity too large', traceId: id });
    const charset = await call(port, '/json', {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json; charset=klingon' },
      body: '{}',
    });
    expect(charset.status).toBe(415);
    expect(charset.json()).toMatchObject({ code: 'INVALID_ARGUMENT', traceId: id });
  });

  it('an error after a complete response is logged; the response stands', async () => {
    const logger = { error: vi.fn() };
    const port = await serve(logger);
    const answer = await call(port, '/late', { headers });
    expect(answer.status).toBe(200);
    expect(answer.body).toBe('ok');
    await vi.waitFor(() => expect(logger.error).toHaveBeenCalledTimes(1), { timeout: 5000 });
    expect(logger.error.mock.calls[0]![1]).toBe('unexpected error while serving a request, after its response');
  });

  it('an error in the middle of a response goes to Express, which closes the connection', async () => {
    const port = await serve(false);
    await expect(call(port, '/half', { headers })).rejects.toThrow(/aborted|socket hang up|ECONNRESET/);
  });

  it('logs to console by default', async () => {
    const spy = vi.spyOn(console, 'error').mockImplementation(() => {});
    const app = express();
    app.use(ctxkit());
    app.get('/', () => {
      throw new Error('boom');
    });
    app.use(ctxkitErrorHandler());
    const { port } = await listen(app);
    expect((await call(port, '/', { headers })).status).toBe(500);
    expect(spy).toHaveBeenCalledWith(expect.objectContaining({ 'trace-id': id }), 'unexpected error while serving a request');
  });

  it('works without the ctxkit middleware (no trace id to quote)', async () => {
    const app = express();
    app.get('/', (_req, _res, next) => next(statusError(Status.NOT_FOUND, 'nothing here')));
    app.use(ctxkitErrorHandler({ logger: false }));
    const { port } = await listen(app);
    const answer = await call(port, '/');
    expect(answer.status).toBe(404);
    expect(answer.json()).toEqual({ code: 'NOT_FOUND', message: 'nothing here' });
  });
});
