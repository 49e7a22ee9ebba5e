import { once } from 'node:events';
import { createContext, runWithContext } from '@ctxkit/core';
import { clientInterceptor } from '@ctxkit/grpc';
import {
  type Client,
  type ClientDuplexStream,
  type ClientReadableStream,
  type ClientWritableStream,
  credentials,
  loadPackageDefinition,
  type ServiceError,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Req, type Seen, slowCalls, startGrpcApp } from './grpc-app.ts';
import { CaptureLogger, closeAll, onClose, protoPath } from './helpers.ts';

type Callback<T> = (error: ServiceError | null, value?: T) => void;
interface ProbeStub extends Client {
  unary(req: Req, options: { deadline?: number }, cb: Callback<Seen>): void;
  serverStream(req: Req): ClientReadableStream<Seen>;
  clientStream(cb: Callback<Seen>): ClientWritableStream<Req>;
  bidi(): ClientDuplexStream<Req, Seen>;
}

const Probe = (loadPackageDefinition(loadSync(protoPath)) as any).ctxkit.test.Probe as new (
  target: string,
  creds: ReturnType<typeof credentials.createInsecure>,
  options: object,
) => ProbeStub;

let logger: CaptureLogger;
afterEach(closeAll);
beforeEach(() => {
  logger = new CaptureLogger();
});

async function client(filter: boolean | 'default-logger' = true): Promise<ProbeStub> {
  const url = await startGrpcApp(logger, filter);
  const stub = new Probe(url, credentials.createInsecure(), { interceptors: [clientInterceptor()] });
  onClose(async () => stub.close());
  return stub;
}

function unary(stub: ProbeStub, text: string, deadline?: number): Promise<Seen> {
  return new Promise((resolve, reject) =>
    stub.unary({ text }, deadline === undefined ? {} : { deadline }, (error, value) => (error ? reject(error) : resolve(value!))),
  );
}

function statusOf(promise: Promise<unknown>): Promise<[number, string]> {
  return promise.then(
    () => [0, 'OK'],
    (e: ServiceError) => [e.code, e.details],
  );
}

function collect<T>(stream: NodeJS.ReadableStream): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const all: T[] = [];
    stream.on('data', (d: T) => all.push(d));
    stream.on('end', () => resolve(all));
    stream.on('error', reject);
  });
}

describe("Nest's gRPC transport with ctxkit's interceptor and RPC filter", () => {
  it('handlers of all four kinds run in the caller context (ids and deadline), 40 concurrent unary calls included', async () => {
    const stub = await client();
    const contexts = Array.from({ length: 40 }, () => createContext({ userId: 'alice', timeoutMs: 5_000 }));
    const answers = await Promise.all(contexts.map((ctx) => runWithContext(ctx, () => unary(stub, 'hi'))));
    expect(answers.filter((a, i) => a.traceId !== contexts[i]!.traceId || a.userId !== 'alice')).toEqual([]);
    const ctx = createContext({ userId: 'bob', timeoutMs: 5_000 });
    await runWithContext(ctx, async () => {
      const streamed = await collect<Seen>(stub.serverStream({ text: 'ok' }));
      expect(streamed.map((s) => [s.traceId, s.text])).toEqual([0, 1, 2].map((i) => [ctx.traceId, `ok-${i}`]));
      const summed = await new Promise<Seen>((resolve, reject) => {
        const up = stub.clientStream((error, value) => (error ? reject(error) : resolve(value!)));
        up.write({ text: 'a' });
        up.write({ text: 'b' });
        up.end();
      });
      expect([summed.traceId, summed.text, summed.userId]).toEqual([ctx.traceId, 'a,b', 'bob']);
      const bidi = stub.bidi();
      const echoed = collect<Seen>(bidi);
      bidi.write({ text: 'x' });
      bidi.write({ text: 'y' });
      bidi.end();
      expect((await echoed).map((s) => [s.traceId, s.text])).toEqual([
        [ctx.traceId, 'x'],
        [ctx.traceId, 'y'],
      ]);
      // The handler's deadline is the caller's (within a few ms of transit).
      expect(Math.abs(streamed[0]!.deadline - ctx.deadline!)).toBeLessThan(100);
    });
    ctx.end();
    for (const c of contexts) c.end();
  });

  it('statusError, DeadlineExceededError and a bug reach the caller as they do from wrapService', async () => {
    const stub = await client();
    const ctx = createContext();
    await runWithContext(ctx, async () => {
      expect(await statusOf(unary(stub, 'not-found'))).toEqual([5, 'no such order']);
      expect(await statusOf(unary(stub, 'deadline'))).toEqual([4, 'deadline exceeded']);
      expect(await statusOf(collect(stub.serverStream({ text: 'no' })))).toEqual([9, 'refused: no']);
      expect(await statusOf(unary(stub, 'bug'))).toEqual([13, 'internal error']);
    });
    // Only the bug is logged, once, in full, with the trace id; the caller saw none of it.
    const errors = logger.at('error');
    expect(errors).toHaveLength(1);
    expect(errors[0]!.text).toContain(`trace-id ${ctx.traceId}`);
    expect(errors[0]!.text).toContain('secret internals at 10.0.0.7');
    ctx.end();
  });

  it("the filter's default logger (Nest's Logger, so the app's) writes a bug once, its stack and the context ctxkit", async () => {
    const stub = await client('default-logger');
    const ctx = createContext();
    expect(await runWithContext(ctx, () => statusOf(unary(stub, 'bug')))).toEqual([13, 'internal error']);
    ctx.end();
    const errors = logger.at('error');
    expect(errors.map((l) => l.params.length)).toEqual([2]);
    expect(errors[0]!.params[0]).toContain('secret internals at 10.0.0.7');
    expect(errors[0]!.params[1]).toBe('ctxkit');
  });

  it('a call that outlives its deadline ends DEADLINE_EXCEEDED, with nothing logged as an error', async () => {
    const stub = await client();
    const ctx = createContext({ timeoutMs: 50 });
    expect(await runWithContext(ctx, () => statusOf(unary(stub, 'slow')))).toEqual([4, expect.any(String)]);
    ctx.end();
    expect(logger.at('error')).toEqual([]);
  });

  it('a caller that cancels ends the handler CANCELLED, with nothing logged as an error', async () => {
    const stub = await client();
    const ctx = createContext();
    const started = once(slowCalls, 'started');
    const answer = runWithContext(ctx, () => statusOf(unary(stub, 'slow')));
    expect(await started).toEqual([ctx.traceId]);
    const ended = once(slowCalls, 'ended');
    ctx.cancel();
    expect(await answer).toEqual([1, expect.any(String)]);
    expect(await ended).toEqual([ctx.traceId]);
    // One more call served after the cancelled one ended: the filter has run for it by then.
    expect(await runWithContext(createContext(), () => statusOf(unary(stub, 'not-found')))).toEqual([5, 'no such order']);
    expect(logger.at('error')).toEqual([]);
  });

  it("without the filter, Nest's transport answers 2 UNKNOWN for all of them", async () => {
    const stub = await client(false);
    const ctx = createContext();
    await runWithContext(ctx, async () => {
      expect(await statusOf(unary(stub, 'not-found'))).toEqual([2, 'Internal server error']);
      expect(await statusOf(unary(stub, 'deadline'))).toEqual([2, 'Internal server error']);
    });
    ctx.end();
  });
});
