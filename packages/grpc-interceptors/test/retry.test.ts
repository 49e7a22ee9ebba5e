import * as grpc from '@grpc/grpc-js';
import { CancelledError, createContext, currentContext, runWithContext } from '@ctxkit/core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { clientInterceptor, Status, serverInterceptor, statusError, wrapService } from '../src/index.js';
import { aborted, deferred, type ProbeClient, probeClient, type Req, type Running, type Seen, seen, startServer, unary, within } from './helpers.js';

// A real chain: test client → A → B → leaf, each hop a grpc-js server with the ctxkit server side
// and a ctxkit client with 3 attempts to the next.
interface LeafAttempt {
  previous: string;
  budgetMs: number;
}
let leafAttempts: LeafAttempt[] = [];
let leafFailed = deferred();
const failedOnce = new Set<string>();
let leaf: Running;
let a: Running;
let b: Running;
const clients: ProbeClient[] = [];

const retry = { maxAttempts: 3, initialBackoffMs: 1, maxBackoffMs: 5 };

function client(target: string, options: Parameters<typeof clientInterceptor>[0] = { retry }, channel: grpc.ClientOptions = {}): ProbeClient {
  const c = new (probeClient(target).constructor as new (t: string, cr: grpc.ChannelCredentials, o: grpc.ClientOptions) => ProbeClient)(
    target,
    grpc.credentials.createInsecure(),
    { ...channel, interceptors: [clientInterceptor(options)] },
  );
  clients.push(c);
  return c;
}

async function hop(next: ProbeClient): Promise<Running> {
  return startServer(wrapService({ unary: (call: grpc.ServerUnaryCall<Req, Seen>) => unary(next, call.request) }), {
    interceptors: [serverInterceptor()],
  });
}

beforeAll(async () => {
  leaf = await startServer(
    wrapService({
      async unary(call: grpc.ServerUnaryCall<Req, Seen>) {
        const ctx = currentContext();
        leafAttempts.push({ previous: String(call.metadata.get('grpc-previous-rpc-attempts')[0] ?? ''), budgetMs: ctx.remainingMs() });
        const mode = call.request.text ?? '';
        if (mode === 'fail') throw statusError(Status.UNAVAILABLE, 'leaf down');
        if (mode === 'fail-once' && !failedOnce.has(ctx.traceId)) {
          failedOnce.add(ctx.traceId);
          throw statusError(Status.UNAVAILABLE, 'leaf down once');
        }
        if (mode === 'hang-first' && leafAttempts.length === 1) {
          const reason = await aborted(ctx.signal);
          throw reason;
        }
        if (mode === 'pushback') {
          const metadata = new grpc.Metadata();
          metadata.set('grpc-retry-pushback-ms', '5000');
          setImmediate(() => leafFailed.resolve());
          throw statusError(Status.UNAVAILABLE, 'come back in 5 s', { metadata });
        }
        if (mode === 'slow-fail') {
          await new Promise((r) => setTimeout(r, 30));
          throw statusError(Status.UNAVAILABLE, 'slow failure');
        }
        return seen(mode);
      },
    }),
    { interceptors: [serverInterceptor()] },
  );
  b = await hop(client(leaf.target));
  a = await hop(client(b.target));
});

afterAll(async () => {
  for (const c of clients) c.close();
  await Promise.all([a.close(), b.close(), leaf.close()]);
});

beforeEach(() => {
  leafAttempts = [];
  leafFailed = deferred();
});

function call(to: ProbeClient, text: string, timeoutMs = 5_000): Promise<Seen> {
  const ctx = createContext({ timeoutMs });
  return runWithContext(ctx, () => unary(to, { text })).finally(() => ctx.end());
}

describe('retries across three hops (3 attempts each)', () => {
  it('a failing leaf sees at most 4 attempts for one request, not 27', async () => {
    const toA = client(a.target);
    const error = await call(toA, 'fail').catch((e: grpc.ServiceError) => e);
    expect((error as grpc.ServiceError).code).toBe(Status.UNAVAILABLE);
    // B retries the leaf; B, then A, answer "do not retry" (pushback -1): A and the client obey.
    expect(leafAttempts.length).toBeLessThanOrEqual(4);
    expect(leafAttempts.map((x) => x.previous)).toEqual(['', '1', '2']);
    expect((error as grpc.ServiceError).metadata.get('grpc-retry-pushback-ms')).toEqual(['-1']);
  });

  it('a leaf that fails once: the request still succeeds', async () => {
    const toA = client(a.target);
    const reply = await call(toA, 'fail-once');
    expect(reply.text).toBe('fail-once');
    expect(leafAttempts.map((x) => x.previous)).toEqual(['', '1']);
  });

  it("the same chain with grpc-js's own retries (3 attempts at every hop) multiplies to 27", async () => {
    const serviceConfig = JSON.stringify({
      methodConfig: [
        {
          name: [{ service: 'ctxkit.test.Probe' }],
          retryPolicy: { maxAttempts: 3, initialBackoff: '0.001s', maxBackoff: '0.005s', backoffMultiplier: 2, retryableStatusCodes: ['UNAVAILABLE'] },
        },
      ],
    });
    const channel = { 'grpc.service_config': serviceConfig };
    const nb = await hop(client(leaf.target, {}, channel));
    const na = await hop(client(nb.target, {}, channel));
    try {
      const error = await call(client(na.target, {}, channel), 'fail').catch((e: grpc.ServiceError) => e);
      expect((error as grpc.ServiceError).code).toBe(Status.UNAVAILABLE);
      expect(leafAttempts.length).toBe(27);
    } finally {
      await Promise.all([na.close(), nb.close()]);
    }
  });
});

describe('retries inside the budget', () => {
  it('starts no attempt with less than minAttemptMs left, and reports the last failure', async () => {
    // Each attempt fails after 30 ms. minAttemptMs leaves the last attempt 120 ms more than it
    // needs, so a loaded machine's late timers cannot turn its failure into the call's deadline.
    const toLeaf = client(leaf.target, { retry: { maxAttempts: 10, initialBackoffMs: 1, maxBackoffMs: 2, minAttemptMs: 150 } });
    const error = await call(toLeaf, 'slow-fail', 400).catch((e: grpc.ServiceError) => e);
    expect((error as grpc.ServiceError).code).toBe(Status.UNAVAILABLE);
    expect(leafAttempts.length).toBeGreaterThanOrEqual(1);
    // The budget, not maxAttempts, ended the retries: each attempt takes over 31 ms, so at most
    // (400 - 150) / 31 + 1 = 9 start with 150 ms left.
    expect(leafAttempts.length).toBeLessThan(10);
    // Every attempt started with at least minAttemptMs of the budget (less the transit, which a
    // loaded machine stretches to tens of ms).
    for (const attempt of leafAttempts) expect(attempt.budgetMs).toBeGreaterThanOrEqual(100);
  });

  it('gives each attempt its own timeout and the last one what is left', async () => {
    const toLeaf = client(leaf.target, { retry: { maxAttempts: 2, attemptTimeoutMs: 100 } });
    const reply = await call(toLeaf, 'hang-first', 3_000);
    expect(reply.text).toBe('hang-first');
    expect(leafAttempts).toHaveLength(2);
    expect(leafAttempts[0]!.budgetMs).toBeLessThanOrEqual(100);
    expect(leafAttempts[1]!.budgetMs).toBeGreaterThan(1_000);
  });

  it('obeys the server pushback and stops at once when the context is cancelled during the backoff', async () => {
    const toLeaf = client(leaf.target, { retry: { maxAttempts: 3 } });
    const ctx = createContext({ timeoutMs: 20_000 });
    const pending = runWithContext(ctx, () => unary(toLeaf, { text: 'pushback' })).catch((e: grpc.ServiceError) => e);
    await within(5_000, leafFailed.promise, 'the first attempt');
    ctx.cancel();
    const error = (await within(1_000, pending, 'the cancelled call')) as grpc.ServiceError;
    expect(error.code).toBe(Status.CANCELLED);
    expect(leafAttempts).toHaveLength(1);
    expect(ctx.signal.reason).toBeInstanceOf(CancelledError);
    ctx.end();
  });

  it('does not retry a code outside the policy', async () => {
    const toLeaf = client(leaf.target, { retry: { maxAttempts: 3, codes: [Status.RESOURCE_EXHAUSTED] } });
    const error = await call(toLeaf, 'fail').catch((e: grpc.ServiceError) => e);
    expect((error as grpc.ServiceError).code).toBe(Status.UNAVAILABLE);
    expect(leafAttempts).toHaveLength(1);
  });
});
