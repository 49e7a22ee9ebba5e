import { createContext, runWithContext } from '@ctxkit/core';
import { ctxkit as ctxkitExpress, ctxkitErrorHandler as expressErrorHandler } from '@ctxkit/express';
import { ctxkit as ctxkitFastify, ctxkitErrorHandler as fastifyErrorHandler } from '@ctxkit/fastify';
import { clientInterceptor, serverInterceptor, wrapService } from '@ctxkit/grpc';
import { type Client, credentials, loadPackageDefinition, Server, ServerCredentials, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import express from 'express';
import Fastify from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { endings } from './endings.ts';
import { answer, type Req, startGrpcApp } from './grpc-app.ts';
import { type Adapter, startHttpApp } from './http-app.ts';
import { type Answer, CaptureLogger, call, closeAll, onClose, protoPath } from './helpers.ts';

// ctxkit's answers must be the same in a Nest app as in a plain one built with the same adapter:
// each ending is served by both and their answers compared, status and body.

type Unary = (req: Req, options: object, cb: (error: ServiceError | null, value?: unknown) => void) => void;
const proto = (loadPackageDefinition(loadSync(protoPath)) as any).ctxkit.test.Probe as {
  new (target: string, creds: ReturnType<typeof credentials.createInsecure>, options: object): Client & { unary: Unary };
  service: object;
};

const timeouts = { defaultTimeoutMs: 5_000, maxTimeoutMs: 10_000 };
let logger: CaptureLogger;
let grpcUrl: string;

beforeEach(async () => {
  logger = new CaptureLogger();
  grpcUrl = await startGrpcApp(logger);
});
afterEach(closeAll);

/** The Probe client a plain app uses: grpc-js with ctxkit's interceptor. */
function probeUnary(url: string): (text: string) => Promise<unknown> {
  const stub = new proto(url, credentials.createInsecure(), { interceptors: [clientInterceptor()] });
  onClose(async () => stub.close());
  return (text) => new Promise((resolve, reject) => stub.unary({ text }, {}, (error, value) => (error ? reject(error) : resolve(value))));
}

/** The same endings in a plain app on `adapter` with ctxkit's own adapter and error handler. */
async function startPlainApp(adapter: Adapter): Promise<number> {
  const served = endings(probeUnary(grpcUrl));
  if (adapter === 'express') {
    const app = express();
    app.use(ctxkitExpress(timeouts));
    app.get('/ending/:name', (req, res, next) => {
      served[req.params.name]!().then((value) => res.json(value), next);
    });
    app.use(expressErrorHandler({ logger: false }));
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    onClose(() => new Promise((resolve) => server.close(resolve)));
    return (server.address() as { port: number }).port;
  }
  const app = Fastify();
  await app.register(ctxkitFastify, timeouts);
  app.setErrorHandler(fastifyErrorHandler);
  app.get<{ Params: { name: string } }>('/ending/:name', (request) => served[request.params.name]!());
  await app.listen({ port: 0, host: '127.0.0.1' });
  onClose(() => app.close());
  return (app.server.address() as { port: number }).port;
}

/** Status and body, the trace id checked against the answer's own header and then left out. */
function comparable(answer: Answer): [number, unknown] {
  const body = answer.json();
  expect(body.traceId).toBe(answer.headers['trace-id']);
  return [answer.status, { ...body, traceId: '…' }];
}

const cases: [string, Record<string, string>][] = [
  ['with-timeout', {}],
  ['cancelled', {}],
  ['grpc-not-found', {}],
  ['grpc-deadline', {}],
  ['grpc-slow', { 'request-timeout-ms': '40' }],
  ['hang', { 'request-timeout-ms': '0' }],
  ['hang', { 'request-timeout-ms': '30' }],
];

describe.each(['express', 'fastify'] as const)('on %s, the same answers with Nest as without', (adapter) => {
  it('504, 499 and the statuses of gRPC calls', async () => {
    const [{ port: nest }, plain] = await Promise.all([startHttpApp(adapter, { grpcUrl, logger }), startPlainApp(adapter)]);
    const seen: [number, unknown][] = [];
    for (const [name, headers] of cases) {
      const fromNest = comparable(await call(nest, `/ending/${name}`, headers));
      const fromPlain = comparable(await call(plain, `/ending/${name}`, headers));
      expect({ name, headers, answer: fromNest }).toEqual({ name, headers, answer: fromPlain });
      seen.push(fromNest);
    }
    expect(seen.map(([status, body]) => [status, (body as { code: string }).code])).toEqual([
      [504, 'DEADLINE_EXCEEDED'],
      [499, 'CANCELLED'],
      [404, 'NOT_FOUND'],
      [504, 'DEADLINE_EXCEEDED'],
      [504, 'DEADLINE_EXCEEDED'],
      [504, 'DEADLINE_EXCEEDED'],
      [504, 'DEADLINE_EXCEEDED'],
    ]);
    expect(logger.at('error')).toEqual([]);
  });
});

describe("Nest's gRPC transport with the RPC filter answers as wrapService does", () => {
  it('status errors, ctxkit errors and a bug: the same code and message', async () => {
    const server = new Server({ interceptors: [serverInterceptor()] });
    server.addService(proto.service as never, wrapService({ Unary: (call: { request: Req }) => answer(call.request.text) } as never, { logger: () => {} }));
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
    );
    onClose(async () => server.forceShutdown());
    const [viaNest, viaWrap] = [probeUnary(grpcUrl), probeUnary(`127.0.0.1:${port}`)];
    const status = (p: Promise<unknown>) => p.then(() => [0, 'OK'], (e: ServiceError) => [e.code, e.details]);
    const ctx = createContext();
    for (const text of ['not-found', 'deadline', 'cancelled', 'bug']) {
      const [fromNest, fromWrap] = await runWithContext(ctx, () => Promise.all([status(viaNest(text)), status(viaWrap(text))]));
      expect({ text, fromNest }).toEqual({ text, fromNest: fromWrap });
    }
    ctx.end();
  });
});
