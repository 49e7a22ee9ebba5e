import { getEventListeners } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { bindContext, createContext, NoContextError, type RequestContext, runWithContext, withCancel } from '@ctxkit/core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { clientInterceptor, serverInterceptor } from '../src/index.js';
import { type ProbeClient, probeClient, type Req, type Running, type Seen, seen, startServer, tenantId, unary, within } from './helpers.js';

/** Longest delay a Node timer takes (2^31-1 ms). */
const MAX_TIMER_MS = 2 ** 31 - 1;

let server: Running;
let client: ProbeClient;
let calls = 0;
let lastMetadata: grpc.Metadata | undefined;

function count(call: { metadata: grpc.Metadata }): void {
  calls++;
  lastMetadata = call.metadata;
}

beforeAll(async () => {
  server = await startServer(
    {
      unary(call: grpc.ServerUnaryCall<Req, Seen>, cb: grpc.sendUnaryData<Seen>) {
        count(call);
        if (call.request.text === 'fail') cb({ code: grpc.status.NOT_FOUND, details: 'nope' });
        else if (call.request.text === 'hang') call.once('cancelled', () => {});
        else cb(null, seen());
      },
      serverStream(call: grpc.ServerWritableStream<Req, Seen>) {
        count(call);
        call.write(seen('1'));
        call.end();
      },
      clientStream(call: grpc.ServerReadableStream<Req, Seen>, cb: grpc.sendUnaryData<Seen>) {
        count(call);
        call.on('data', () => {});
        call.on('end', () => cb(null, seen()));
      },
      bidi(call: grpc.ServerDuplexStream<Req, Seen>) {
        count(call);
        call.on('data', (req: Req) => call.write(seen(req.text)));
        call.on('end', () => call.end());
      },
    },
    { interceptors: [serverInterceptor()] },
  );
  client = probeClient(server.target, [clientInterceptor()]);
});

afterAll(async () => {
  client.close();
  await server.close();
});

beforeEach(() => {
  calls = 0;
  lastMetadata = undefined;
});

function allKinds(c: ProbeClient, md?: grpc.Metadata, opts: grpc.CallOptions = {}): Promise<Seen>[] {
  const meta = () => md?.clone() ?? new grpc.Metadata();
  const streamed = (stream: grpc.ClientReadableStream<Seen>) =>
    new Promise<Seen>((resolve, reject) => {
      let first: Seen | undefined;
      stream.on('data', (s: Seen) => {
        first ??= s;
      });
      stream.on('error', reject);
      stream.on('end', () => resolve(first!));
    });
  return [
    unary(c, {}, meta(), opts),
    streamed(c.serverStream({}, meta(), opts)),
    new Promise<Seen>((resolve, reject) => {
      const w = c.clientStream(meta(), opts, (err, res) => (err ? reject(err) : resolve(res!)));
      w.write({});
      w.end();
    }),
    (() => {
      const d = c.bidi(meta(), opts);
      const p = streamed(d);
      d.write({ text: 'x' });
      d.end();
      return p;
    })(),
  ];
}

describe('clientInterceptor', () => {
  it('carries trace id, user id, custom keys and deadline on all four call kinds', async () => {
    const ctx = createContext({ userId: 'u-1', values: { [tenantId.name]: 'globex' }, timeoutMs: 4000 });
    const results = await runWithContext(ctx, () => Promise.all(allKinds(client)));
    for (const s of results) {
      expect(s).toMatchObject({ hasContext: true, traceId: ctx.traceId, userId: 'u-1', tenant: 'globex', requestId: ctx.requestId });
      expect(s.deadline).toBeGreaterThan(Date.now());
    }
    ctx.end();
  });

  it('an expired context makes no request on any call kind: DEADLINE_EXCEEDED, zero calls', async () => {
    const ctx = createContext({ timeoutMs: 0 });
    const results = await runWithContext(ctx, () => Promise.allSettled(allKinds(client)));
    for (const r of results) expect(r).toMatchObject({ status: 'rejected', reason: { code: grpc.status.DEADLINE_EXCEEDED } });
    expect(calls).toBe(0);
  });

  it('a cancelled context makes no request: CANCELLED, zero calls', async () => {
    const ctx = createContext();
    ctx.cancel();
    await expect(runWithContext(ctx, () => unary(client))).rejects.toMatchObject({ code: grpc.status.CANCELLED });
    expect(calls).toBe(0);
  });

  it('cancelling the context cancels a call in flight with CANCELLED', async () => {
    const result = withCancel((cancel) => {
      const p = unary(client, { text: 'hang' });
      setImmediate(() => cancel());
      return p;
    });
    await expect(within(5000, result)).rejects.toMatchObject({ code: grpc.status.CANCELLED });
  });

  it('the earlier of the call option deadline and the context deadline wins', async () => {
    const ctx = createContext({ timeoutMs: 60_000 });
    const t0 = Date.now();
    const own = t0 + 2000;
    const s = await runWithContext(ctx, () => unary(client, {}, new grpc.Metadata(), { deadline: own }));
    // grpc-timeout is relative: the server's deadline moves later by the call's transit time,
    // at most the whole round trip (plus 2 ms of rounding), never by the context's 60 s.
    expect(s.deadline).toBeLessThanOrEqual(own + (Date.now() - t0) + 2);
    expect(s.deadline).toBeLessThan(ctx.deadline!);
    ctx.end();
  });

  it('clamps a deadline past what grpc-js can handle instead of failing the call', async () => {
    const ctx = createContext({ deadline: Date.now() + 1e15 });
    const s = await runWithContext(ctx, () => unary(client));
    // Unclamped, grpc-js's server wraps the timeout negative and the call fails at once.
    expect(s.deadline).toBeGreaterThan(Date.now() + MAX_TIMER_MS - 60_000);
    expect(s.deadline).toBeLessThanOrEqual(Date.now() + MAX_TIMER_MS);
    ctx.end();
  });

  it("clamps the caller's own far deadline too, with or without a context deadline", async () => {
    for (const init of [{}, { deadline: Date.now() + 1e15 }]) {
      const ctx = createContext(init);
      const s = await runWithContext(ctx, () => unary(client, {}, new grpc.Metadata(), { deadline: Date.now() + 40 * 24 * 3600 * 1000 }));
      expect(s.deadline).toBeGreaterThan(Date.now() + MAX_TIMER_MS - 60_000);
      expect(s.deadline).toBeLessThanOrEqual(Date.now() + MAX_TIMER_MS);
      ctx.end();
    }
  });

  it('keeps keys the caller set on the call, unless told to override', async () => {
    const ctx = createContext({ userId: 'from-context' });
    const md = new grpc.Metadata();
    md.set('user-id', 'from-caller');
    expect((await runWithContext(ctx, () => unary(client, {}, md))).userId).toBe('from-caller');
    expect(md.get('trace-id')).toEqual([]); // the caller's object is not written to
    const overriding = probeClient(server.target, [clientInterceptor({ override: true })]);
    expect((await runWithContext(ctx, () => unary(overriding, {}, md))).userId).toBe('from-context');
    overriding.close();
  });

  it('sends only allowed keys when given allow', async () => {
    const ctx = createContext({ userId: 'u-9' });
    const limited = probeClient(server.target, [clientInterceptor({ allow: (k) => k === 'trace-id' })]);
    await runWithContext(ctx, () => unary(limited));
    expect(lastMetadata!.get('user-id')).toEqual([]);
    expect(lastMetadata!.get('trace-id')).toEqual([ctx.traceId]);
    limited.close();
  });

  it('an allow predicate that makes a gRPC call itself (re-entrant injection) leaves both calls whole', async () => {
    const ctx = createContext({ userId: 'u-7', values: { [tenantId.name]: 'acme' } });
    const nested: Promise<Seen>[] = [];
    // An audit call from inside the predicate: its interceptor injects while the outer one is mid-way.
    const audited = probeClient(server.target, [
      clientInterceptor({
        allow: (key) => {
          if (key === 'user-id') nested.push(unary(client, { text: 'audit' }));
          return true;
        },
      }),
    ]);
    const outer = await runWithContext(ctx, () => unary(audited));
    const [inner] = await Promise.all(nested);
    expect(outer).toMatchObject({ traceId: ctx.traceId, userId: 'u-7', tenant: 'acme' });
    expect(inner).toMatchObject({ traceId: ctx.traceId, userId: 'u-7', tenant: 'acme' });
    expect(nested).toHaveLength(1);
    audited.close();
  });

  it("outside any context: 'throw' throws at the call site, 'warn' warns, 'ignore' is silent", async () => {
    const throwing = probeClient(server.target, [clientInterceptor({ missingContext: 'throw' })]);
    expect(() => throwing.unary({}, () => {})).toThrow(NoContextError);
    throwing.close();

    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      await unary(client);
      const ignoring = probeClient(server.target, [clientInterceptor({ missingContext: 'ignore' })]);
      await unary(ignoring);
      ignoring.close();
      await new Promise((r) => setImmediate(r));
    } finally {
      process.off('warning', onWarning);
    }
    const ours = warnings.filter((w) => (w as { code?: string }).code === 'CTXKIT_NO_CONTEXT');
    expect(ours).toHaveLength(1);
    expect(ours[0]!.message).toContain('/ctxkit.test.Probe/Unary');
    expect(calls).toBe(2);
  });

  it('a call from a callback kept from an ended request is reported once per call site, and still sent with its ids', async () => {
    const requestA = createContext({ userId: 'alice' });
    // A pool created inside request A binds its idle callback to A's context; the call is made
    // here, in this file, so this file is the call site the report names.
    const pool = runWithContext(requestA, () => ({
      onIdle: bindContext(() => new Promise<Seen>((resolve, reject) => client.unary({}, (err, res) => (err ? reject(err) : resolve(res!))))),
    }));
    requestA.end(); // A was answered
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    const got: Seen[] = [];
    try {
      const requestB = createContext({ userId: 'bob' });
      await runWithContext(requestB, async () => {
        got.push(await pool.onIdle());
        got.push(await pool.onIdle()); // the same call site: not reported again
        got.push(await unary(client)); // B's own call, live: not reported
      });
      requestB.end();
      await new Promise((r) => setImmediate(r));
    } finally {
      process.off('warning', onWarning);
    }
    const ended = warnings.filter((w) => (w as { code?: string }).code === 'CTXKIT_ENDED_CONTEXT');
    expect(ended).toHaveLength(1);
    expect(ended[0]!.message).toMatch(new RegExp(`gRPC call /ctxkit\\.test\\.Probe/Unary at .*client\\.test\\.ts:\\d+.* request ${requestA.requestId}`));
    expect(got.map((s) => s.userId)).toEqual(['alice', 'alice', 'bob']);
    expect(got[0]!.requestId).toBe(requestA.requestId);
    expect(calls).toBe(3);

    const throwing = probeClient(server.target, [clientInterceptor({ missingContext: 'throw' })]);
    const later = runWithContext(requestA, () => bindContext(() => throwing.unary({}, () => {})));
    expect(later).toThrow(new RegExp(`under the context of request ${requestA.requestId}`));
    throwing.close();
    expect(calls).toBe(3);
  });

  it("at the context's deadline the context has expired before the caller sees DEADLINE_EXCEEDED", { timeout: 60_000 }, async () => {
    // grpc-js times the call with the same deadline as the context: whichever timer fires first,
    // the caller must find its own context expired, so that it answers for the context (an edge's
    // 504) rather than for a child's failure. 40 rounds: the two timers race differently each time.
    const alive: number[] = [];
    for (let i = 0; i < 40; i++) {
      const ctx = createContext({ timeoutMs: 20 + (i % 5) });
      const error = await runWithContext(ctx, () => unary(client, { text: 'hang' }).catch((e: grpc.ServiceError) => e));
      expect((error as grpc.ServiceError).code).toBe(grpc.status.DEADLINE_EXCEEDED);
      if (!ctx.signal.aborted) alive.push(i);
      ctx.end();
    }
    expect(alive).toEqual([]);
  });

  it('concurrent calls under one context follow it without an abort listener, and a cancel reaches every one', async () => {
    const ctx = createContext();
    const signal = ctx.signal;
    const statuses = runWithContext(ctx, () =>
      Array.from({ length: 50 }, () => unary(client, { text: 'hang' }).catch((e: grpc.ServiceError) => e.code)),
    );
    expect(callsFollowing(ctx)).toBe(50);
    expect(getEventListeners(signal, 'abort')).toHaveLength(0); // core tells its calls directly
    ctx.cancel();
    expect(await Promise.all(statuses)).toEqual(Array.from({ length: 50 }, () => grpc.status.CANCELLED));
    expect(callsFollowing(ctx)).toBe(0);
    ctx.end();
  });

  it('10,000 sequential calls under one context leave nothing following it', { timeout: 60_000 }, async () => {
    const ctx = createContext({ timeoutMs: 120_000 });
    const signal = ctx.signal;
    await runWithContext(ctx, async () => {
      for (let i = 0; i < 10_000; i++) await unary(client);
      // Failing and cancelled calls release theirs too.
      for (let i = 0; i < 50; i++) await unary(client, { text: 'fail' }).catch(() => {});
      for (let i = 0; i < 50; i++) {
        const call = client.unary({ text: 'hang' }, () => {});
        expect(callsFollowing(ctx)).toBe(1);
        await new Promise<void>((resolve) => {
          call.on('status', () => resolve());
          call.cancel();
        });
      }
    });
    expect(callsFollowing(ctx)).toBe(0);
    expect(getEventListeners(signal, 'abort')).toHaveLength(0);
    ctx.end();
  });
});

/**
 * How many calls follow a context (white box): core's contexts tell their outgoing calls
 * directly, not through an abort listener, so the leak checks count these.
 */
function callsFollowing(ctx: RequestContext): number {
  const w = (ctx as unknown as { _watchers?: object | Set<object> })._watchers;
  if (w === undefined) return 0;
  return w instanceof Set ? w.size : 1;
}
