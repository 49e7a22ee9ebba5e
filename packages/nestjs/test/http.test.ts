import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startGrpcApp } from './grpc-app.ts';
import { type Adapter, Hooks, startHttpApp } from './http-app.ts';
import { CaptureLogger, call, callAndHangUp, closeAll, traceparent, within } from './helpers.ts';

const adapters: Adapter[] = ['express', 'fastify'];

let logger: CaptureLogger;
let grpcUrl: string;

beforeEach(async () => {
  logger = new CaptureLogger();
  grpcUrl = await startGrpcApp(logger);
});
afterEach(closeAll);

/** Error lines (Nest's start-up lines are `log`). */
function errors(): string[] {
  return logger.at('error').map((l) => l.text);
}

describe.each(adapters)('Nest on %s', (adapter) => {
  it('the context is current from the first Nest middleware to the interceptor after the handler, and downstream: 40 concurrent requests', async () => {
    const { port } = await startHttpApp(adapter, { grpcUrl, logger });
    const sent = Array.from({ length: 40 }, () => traceparent());
    const answers = await Promise.all(sent.map((t) => call(port, '/seen?p=1', { traceparent: t.header })));
    const wrong = answers.filter((a, i) => {
      const body = a.json();
      const want = sent[i]!.traceId;
      return (
        a.status !== 200 ||
        a.headers['trace-id'] !== want ||
        [body.trace, body.middleware, body.guard, body.pipe, body.downstream, body.interceptorBefore, body.interceptorAfter].some((t) => t !== want)
      );
    });
    expect(wrong.map((a) => a.body)).toEqual([]);
  });

  it('request-scoped providers are built in the request context', async () => {
    const { port } = await startHttpApp(adapter, { grpcUrl, logger });
    const sent = Array.from({ length: 20 }, () => traceparent());
    const answers = await Promise.all(sent.map((t) => call(port, '/scoped', { traceparent: t.header })));
    expect(answers.map((a) => a.json())).toEqual(sent.map((t) => ({ trace: t.traceId, provider: t.traceId })));
  });

  it('@Sse events are emitted in the request context', async () => {
    const { port } = await startHttpApp(adapter, { grpcUrl, logger });
    const t = traceparent();
    const answer = await call(port, '/sse', { traceparent: t.header });
    const events = answer.body
      .split('\n')
      .filter((l) => l.startsWith('data: '))
      .map((l) => JSON.parse(l.slice(6)));
    expect(events).toEqual([0, 1, 2].map((i) => ({ i, trace: t.traceId })));
  });

  it('a passed budget is 504 from ctxkit itself, request-timeout-ms: 0 included, and nothing is logged as an error', async () => {
    const { port } = await startHttpApp(adapter, { grpcUrl, logger });
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      for (const budget of ['0', '30']) {
        const t = traceparent();
        const answer = await call(port, '/hang', { traceparent: t.header, 'request-timeout-ms': budget });
        expect(answer.status).toBe(504);
        expect(answer.json()).toEqual({ code: 'DEADLINE_EXCEEDED', message: 'deadline exceeded', traceId: t.traceId });
      }
      // The handler rejects after the 504: that ending is logged once, at debug level.
      await within(logger.waitFor((l) => l.level === 'debug' && l.text.includes('/hang ended after its context was aborted')), 5000, 'debug line');
    } finally {
      process.off('warning', onWarning);
    }
    expect(errors()).toEqual([]);
    expect(warnings.map((w) => w.message)).toEqual([]);
  });

  it('a handler returning after the 504 is no error either', async () => {
    const { port } = await startHttpApp(adapter, { grpcUrl, logger });
    const answer = await call(port, '/late', { 'request-timeout-ms': '30' });
    expect(answer.status).toBe(504);
    // Express: Nest's write after the 504 throws ERR_HTTP_HEADERS_SENT, which ends at the filter.
    if (adapter === 'express') {
      await within(logger.waitFor((l) => l.level === 'debug' && l.text.includes('/late ended') && l.text.includes('headers after they are sent')), 5000, 'debug line');
    }
    expect(errors()).toEqual([]);
  });

  it('a withTimeout deadline is 504, a gRPC NOT_FOUND is 404 with its message, a downstream deadline is always 504', async () => {
    const { port } = await startHttpApp(adapter, { grpcUrl, logger });
    const timedOut = await call(port, '/with-timeout');
    expect([timedOut.status, timedOut.json().code]).toEqual([504, 'DEADLINE_EXCEEDED']);
    const notFound = await call(port, '/grpc/not-found');
    expect([notFound.status, notFound.json().code, notFound.json().message]).toEqual([404, 'NOT_FOUND', 'no such order']);
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) statuses.push((await call(port, '/grpc/slow', { 'request-timeout-ms': '40' })).status);
    expect(statuses).toEqual(Array(20).fill(504));
    expect(errors()).toEqual([]);
  });

  it('the filter provided as APP_FILTER gets the adapter from Nest', async () => {
    const { port } = await startHttpApp(adapter, { grpcUrl, logger, filter: 'module' });
    const notFound = await call(port, '/grpc/not-found');
    expect([notFound.status, notFound.json().code]).toEqual([404, 'NOT_FOUND']);
    const timedOut = await call(port, '/with-timeout');
    expect(timedOut.status).toBe(504);
  });

  it("the filter's default logger (Nest's Logger, so the app's) writes each ending once, in the context ctxkit", async () => {
    const { port } = await startHttpApp(adapter, { grpcUrl, logger, filter: 'module' });
    expect((await call(port, '/hang', { 'request-timeout-ms': '30' })).status).toBe(504);
    await within(logger.waitFor((l) => l.level === 'debug' && l.text.includes('/hang ended')), 5000, 'debug line');
    const ended = logger.lines.filter((l) => l.level !== 'log' && l.text.includes('/hang'));
    expect(ended.map((l) => [l.level, l.params])).toEqual([['debug', ['ctxkit']]]);
  });

  it("without the filter, Nest answers 500 for them; the request's own passed deadline is still ctxkit's 504", async () => {
    const { port } = await startHttpApp(adapter, { grpcUrl, logger, filter: false });
    expect((await call(port, '/grpc/not-found')).status).toBe(500);
    expect((await call(port, '/with-timeout')).status).toBe(500);
    // The request's own deadline is answered by ctxkit's adapter itself, whatever error handler runs.
    for (const budget of ['0', '30']) {
      const expired = await call(port, '/hang', { 'request-timeout-ms': budget });
      expect([expired.status, expired.json().code]).toEqual([504, 'DEADLINE_EXCEEDED']);
    }
  });

  it("Nest's own exceptions and unknown errors keep Nest's answers; an unknown error is logged", async () => {
    const { port } = await startHttpApp(adapter, { grpcUrl, logger });
    const notFound = await call(port, '/http-exception');
    expect([notFound.status, notFound.json()]).toEqual([404, { statusCode: 404, message: 'no such page', error: 'Not Found' }]);
    const bug = await call(port, '/bug');
    expect([bug.status, bug.json()]).toEqual([500, { statusCode: 500, message: 'Internal server error' }]);
    expect(bug.body).not.toContain('secret');
    expect(errors()).toHaveLength(1);
    expect(errors()[0]).toContain('secret internals');
  });

  it('a client that hangs up cancels the context; the ending is logged once at debug level', async () => {
    const hooks = new Hooks();
    const { port } = await startHttpApp(adapter, { grpcUrl, logger, hooks });
    await callAndHangUp(port, '/hang', hooks.started.promise);
    await within(logger.waitFor((l) => l.level === 'debug' && l.text.includes('(CANCELLED)')), 5000, 'debug line');
    // Once: Nest's start-up lines (level `log`) aside, one line names the request.
    expect(logger.lines.filter((l) => l.level !== 'log' && l.text.includes('/hang'))).toHaveLength(1);
    expect(errors()).toEqual([]);
  });

  it('nestjs-cls beside ctxkit: both right for 40 concurrent requests', async () => {
    const { port } = await startHttpApp(adapter, { grpcUrl, logger, cls: true });
    const sent = Array.from({ length: 40 }, () => traceparent());
    const answers = await Promise.all(sent.map((t) => call(port, '/seen', { traceparent: t.header })));
    const bodies = answers.map((a) => a.json());
    expect(bodies.map((b) => [b.trace, b.clsTrace, b.downstream])).toEqual(sent.map((t) => [t.traceId, t.traceId, t.traceId]));
    expect(new Set(bodies.map((b) => b.clsId)).size).toBe(40);
  });
});
