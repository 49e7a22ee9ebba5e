import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startGrpcApp } from './grpc-app.ts';
import { Backend, startHttpApp } from './http-app.ts';
import { CaptureLogger, call, closeAll } from './helpers.ts';

let logger: CaptureLogger;
let grpcUrl: string;

beforeEach(async () => {
  logger = new CaptureLogger();
  grpcUrl = await startGrpcApp(logger);
});
afterEach(closeAll);

// No traceparent is sent: two contexts would each start their own random trace id.
async function contextsSeen(port: number) {
  const answers = await Promise.all(Array.from({ length: 20 }, () => call(port, '/seen')));
  return answers.map((a) => {
    const body = a.json();
    return new Set([a.headers['trace-id'], body.middleware, body.trace, body.downstream]).size;
  });
}

describe('one context per request whatever ctxkit adapters a Nest app combines', () => {
  it('Fastify plugin (registered first) and the Express middleware as Nest middleware', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    let port: number;
    try {
      ({ port } = await startHttpApp('fastify', { grpcUrl, logger, expressMiddleware: true }));
      await new Promise((r) => setImmediate(r));
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings.map((w) => (w as Error & { code?: string }).code)).not.toContain('CTXKIT_FASTIFY_ORDER');
    expect(await contextsSeen(port)).toEqual(Array(20).fill(1));
    const expired = await call(port, '/hang', { 'request-timeout-ms': '0' });
    expect([expired.status, expired.json().code]).toEqual([504, 'DEADLINE_EXCEEDED']);
  });

  it('the Express middleware (run by Nest before a late plugin) and the Fastify plugin registered after create()', async () => {
    const { port } = await startHttpApp('fastify', { grpcUrl, logger, expressMiddleware: true, pluginLate: true });
    expect(await contextsSeen(port)).toEqual(Array(20).fill(1));
    const expired = await call(port, '/hang', { 'request-timeout-ms': '30' });
    expect([expired.status, expired.json().code]).toEqual([504, 'DEADLINE_EXCEEDED']);
    expect(logger.at('error')).toEqual([]);
  });

  it('Express adapter: the middleware both through app.use() and as Nest middleware', async () => {
    const { port } = await startHttpApp('express', { grpcUrl, logger, expressMiddleware: true, appUseToo: true });
    expect(await contextsSeen(port)).toEqual(Array(20).fill(1));
    const expired = await call(port, '/hang', { 'request-timeout-ms': '30' });
    expect([expired.status, expired.json().code]).toEqual([504, 'DEADLINE_EXCEEDED']);
    expect(logger.at('error')).toEqual([]);
  });

  it('the plugin registered after create() comes behind Nest middleware, which the README set-up avoids; the plugin says so', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    let port: number;
    try {
      ({ port } = await startHttpApp('fastify', { grpcUrl, logger, pluginLate: true }));
      await new Promise((r) => setImmediate(r));
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings.filter((w) => (w as Error & { code?: string }).code === 'CTXKIT_FASTIFY_ORDER')).toHaveLength(1);
    const body = (await call(port, '/seen')).json();
    expect(body.middleware).toBe('none');
    expect(body.trace).toMatch(/^[0-9a-f]{32}$/);
  });
});

describe('the lost-context report through ClientGrpc', () => {
  it("names the user's frame under grpc-js's, Nest's and rxjs's", async () => {
    const { app } = await startHttpApp('express', { grpcUrl, logger });
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      // Outside any request: what a callback that lost its context does.
      await app.get(Backend).unaryOutside('lost');
      await new Promise((r) => setImmediate(r));
    } finally {
      process.off('warning', onWarning);
    }
    const reports = warnings.filter((w) => (w as Error & { code?: string }).code === 'CTXKIT_NO_CONTEXT');
    expect(reports).toHaveLength(1);
    expect(reports[0]!.message).toMatch(/gRPC call \/ctxkit\.test\.Probe\/Unary outside any request context at (?:Backend\.)?unaryOutside \(.*http-app\.ts:\d+:\d+\)/);
  });
});
