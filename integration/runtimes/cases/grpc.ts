/** grpc-js with ctxkit's client interceptor and server side, over a real HTTP/2 connection. */
import { once } from 'node:events';
import { CancelledError, createContext, currentContext, type RequestContext, runWithContext, tryCurrentContext } from '@ctxkit/core';
import { type Case, check, same } from '../harness.ts';
import { signal } from '../support.ts';

// A service described by hand, JSON in Buffers: no .proto to load, the same wire as any other.
const json = {
  requestStream: false,
  responseStream: false,
  requestSerialize: (v: unknown) => Buffer.from(JSON.stringify(v)),
  requestDeserialize: (b: Buffer) => JSON.parse(b.toString('utf8')) as unknown,
  responseSerialize: (v: unknown) => Buffer.from(JSON.stringify(v)),
  responseDeserialize: (b: Buffer) => JSON.parse(b.toString('utf8')) as unknown,
};
const service = {
  Seen: { path: '/conformance.Probe/Seen', ...json },
  Hold: { path: '/conformance.Probe/Hold', ...json },
};

interface Seen {
  traceId: string;
  requestId: string;
  remainingMs: number;
  sameAfterAwait: boolean;
}

async function grpcPropagation(): Promise<void> {
  const grpc = await import('@grpc/grpc-js');
  const { clientInterceptor, serverInterceptor, wrapService } = await import('@ctxkit/grpc');
  const held = signal<RequestContext>();
  const server = new grpc.Server({ interceptors: [serverInterceptor()] });
  server.addService(
    service as never,
    wrapService({
      async Seen(): Promise<Seen> {
        const ctx = currentContext();
        await new Promise<void>((resolve) => setTimeout(resolve, 2));
        return { traceId: ctx.traceId, requestId: ctx.requestId, remainingMs: ctx.remainingMs(), sameAfterAwait: tryCurrentContext() === ctx };
      },
      async Hold() {
        const ctx = currentContext();
        held.resolve(ctx);
        await once(ctx.signal, 'abort');
        throw ctx.signal.reason;
      },
    }),
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, p) => (error ? reject(error) : resolve(p))),
  );
  const Client = grpc.makeGenericClientConstructor(service as never, 'Probe');
  const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { interceptors: [clientInterceptor()] }) as unknown as Record<
    string,
    (req: unknown, cb: (error: Error | null, res?: unknown) => void) => unknown
  >;
  const call = (method: string) =>
    new Promise<unknown>((resolve, reject) => client[method]!({}, (error, res) => (error ? reject(error) : resolve(res))));
  const ctx = createContext({ timeoutMs: 5_000 });
  try {
    await runWithContext(ctx, async () => {
      const seen = (await call('Seen')) as Seen;
      same(seen.traceId, ctx.traceId, 'the server sees the trace id');
      same(seen.requestId, ctx.requestId, 'the server sees the request id');
      check(seen.remainingMs > 0 && seen.remainingMs <= 5_000, `the server sees the deadline (${seen.remainingMs} ms left)`);
      check(seen.sameAfterAwait, 'the handler keeps its context across an await');
      same(tryCurrentContext(), ctx, 'the caller keeps its context after the call');
      // A callback-style caller (no await to restore it) gets its response in its context too.
      const inCallback = await new Promise<unknown>((resolve) => client.Seen!({}, () => resolve(tryCurrentContext())));
      same(inCallback, ctx, 'the response callback runs in the calling context');
      // Cancelling the caller's context cancels the call, and the server's context with it.
      const pending = call('Hold').then(() => undefined, (e: unknown) => e);
      const serverCtx = await held.promise;
      const serverAborted = serverCtx.signal.aborted ? Promise.resolve() : once(serverCtx.signal, 'abort');
      ctx.cancel();
      const error = await pending;
      same((error as { code?: number }).code, grpc.status.CANCELLED, `the call fails with CANCELLED (${String(error)})`);
      await serverAborted;
      check(serverCtx.signal.reason instanceof CancelledError, "the server's context is cancelled");
    });
  } finally {
    ctx.end();
    (client as unknown as { close(): void }).close();
    server.forceShutdown();
  }
}

export const grpcCases: readonly Case[] = [{ id: 'grpc', run: grpcPropagation }];
