import type * as grpc from '@grpc/grpc-js';
import { createContext, currentContext, LiveContexts, runWithContext, ShutdownError } from '@ctxkit/core';
import { afterAll, describe, expect, it } from 'vitest';
import { clientInterceptor, Status, serverInterceptor, shutdownServer, wrapService } from '../src/index.js';
import { aborted, deferred, probeClient, type Req, type Running, type Seen, seen, startServer, unary, within } from './helpers.js';

// A server with live contexts, in flight: one call that finishes within the drain budget, one
// that ignores it until cancelled, one that calls downstream after the drain began.
let downstream: Running | undefined;
afterAll(async () => {
  await downstream?.close();
});

describe('shutdownServer', () => {
  it('drains calls in flight, shortens their budget downstream, cancels the rest with UNAVAILABLE', async () => {
    const downstreamBudget = deferred<number>();
    downstream = await startServer(
      wrapService({
        async unary(_call: grpc.ServerUnaryCall<Req, Seen>) {
          downstreamBudget.resolve(currentContext().remainingMs());
          return seen('downstream');
        },
      }),
      { interceptors: [serverInterceptor()] },
    );
    const toDownstream = probeClient(downstream.target, [clientInterceptor()]);
    const live = new LiveContexts();
    const started = { fast: deferred(), slow: deferred(), late: deferred() };
    const drainBegan = deferred();
    const slowReason = deferred<unknown>();
    const server = await startServer(
      wrapService({
        async unary(call: grpc.ServerUnaryCall<Req, Seen>) {
          const mode = call.request.text as 'fast' | 'slow' | 'late';
          started[mode].resolve();
          const { signal } = currentContext();
          if (mode === 'fast') {
            await drainBegan.promise;
            return seen('fast');
          }
          if (mode === 'slow') {
            slowReason.resolve(await aborted(signal));
            throw signal.reason;
          }
          await drainBegan.promise;
          return unary(toDownstream, { text: 'late' });
        },
      }),
      { interceptors: [serverInterceptor({ live })] },
    );
    const client = probeClient(server.target, [clientInterceptor()]);
    const ctx = createContext({ timeoutMs: 20_000 });
    const calls = runWithContext(ctx, () =>
      (['fast', 'slow', 'late'] as const).map((text) => unary(client, { text }).catch((e: grpc.ServiceError) => e)),
    );
    await within(5_000, Promise.all([started.fast.promise, started.slow.promise, started.late.promise]), 'the three handlers');
    expect(live.size).toBe(3);
    const draining = shutdownServer(server.server, live, { drainMs: 300, graceMs: 2_000 });
    drainBegan.resolve();
    const [fast, slow, late] = await within(10_000, Promise.all(calls), 'the three calls');
    const report = await draining;

    expect((fast as Seen).text).toBe('fast');
    expect((late as Seen).text).toBe('downstream');
    // The downstream call carried the drain's budget, not the caller's 20 s.
    expect(await downstreamBudget.promise).toBeLessThanOrEqual(300);
    expect(await slowReason.promise).toBeInstanceOf(ShutdownError);
    expect((slow as grpc.ServiceError).code).toBe(Status.UNAVAILABLE);
    expect(report).toMatchObject({ inFlight: 3, finished: 2, cancelled: 1, left: 0 });
    expect(live.size).toBe(0);
    // Stopped accepting: a new call is refused (by the interceptor, or the closed listener).
    const refused = await runWithContext(ctx, () => unary(client, { text: 'fast' }).catch((e: grpc.ServiceError) => e));
    expect((refused as grpc.ServiceError).code).toBe(Status.UNAVAILABLE);
    ctx.end();
    client.close();
    toDownstream.close();
  });

  it('refuses a call that arrives once the drain began, before its handler starts', async () => {
    const live = new LiveContexts();
    let handled = 0;
    const hold = deferred();
    const server = await startServer(
      wrapService({
        async unary(_call: grpc.ServerUnaryCall<Req, Seen>) {
          handled++;
          await hold.promise;
          return seen('held');
        },
      }),
      { interceptors: [serverInterceptor({ live })] },
    );
    const client = probeClient(server.target, [clientInterceptor()]);
    const ctx = createContext({ timeoutMs: 20_000 });
    // A connection exists and one call holds the drain open.
    const first = runWithContext(ctx, () => unary(client, { text: 'a' }));
    await within(5_000, (async () => {
      while (live.size === 0) await new Promise((r) => setImmediate(r));
    })(), 'the first call');
    const draining = live.drain({ drainMs: 5_000 });
    const second = await runWithContext(ctx, () => unary(client, { text: 'b' }).catch((e: grpc.ServiceError) => e));
    expect((second as grpc.ServiceError).code).toBe(Status.UNAVAILABLE);
    expect(handled).toBe(1);
    hold.resolve();
    expect((await first).text).toBe('held');
    expect(await draining).toMatchObject({ inFlight: 1, finished: 1, cancelled: 0, left: 0 });
    ctx.end();
    client.close();
    await server.close();
  });
});
