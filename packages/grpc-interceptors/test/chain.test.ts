import * as grpc from '@grpc/grpc-js';
import { CancelledError, createContext, currentContext, DeadlineExceededError, runWithContext, withTimeout } from '@ctxkit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientInterceptor, serverInterceptor, wrapService } from '../src/index.js';
import { aborted, deferred, type ProbeClient, probeClient, type Req, type Running, type Seen, seen, startServer, tenantId, unary, within } from './helpers.js';

// A → B → C, each a real grpc-js server with the ctxkit server side and a ctxkit client to the
// next; no handler touches metadata or deadlines by hand.
let a: Running;
let b: Running;
let c: Running;
let toB: ProbeClient;
let toC: ProbeClient;
let test: ProbeClient;
let cStarted = deferred<AbortSignal>();
let cAborted = deferred<unknown>();
let bOutcome = deferred<number>();
let atA = { deadline: 0, at: 0 };
let cAt = 0;

beforeAll(async () => {
  const options = { interceptors: [serverInterceptor()] };
  c = await startServer(
    wrapService({
      async unary(call: grpc.ServerUnaryCall<Req, Seen>) {
        cAt = Date.now();
        if (call.request.text !== 'hang') return seen();
        const { signal } = currentContext();
        cStarted.resolve(signal);
        cAborted.resolve(await aborted(signal));
        throw signal.reason;
      },
    }),
    options,
  );
  toC = probeClient(c.target, [clientInterceptor()]);
  b = await startServer(
    wrapService({
      async unary(call: grpc.ServerUnaryCall<Req, Seen>) {
        const text = call.request.text ?? '';
        const go = () => unary(toC, { text: text.replace(/^b-timeout:/, '') });
        try {
          return await (text.startsWith('b-timeout:') ? withTimeout(150, go) : go());
        } catch (error) {
          bOutcome.resolve((error as grpc.ServiceError).code);
          throw error;
        }
      },
    }),
    options,
  );
  toB = probeClient(b.target, [clientInterceptor()]);
  a = await startServer(
    wrapService({
      unary(call: grpc.ServerUnaryCall<Req, Seen>) {
        atA = { deadline: currentContext().deadline ?? 0, at: Date.now() };
        return unary(toB, call.request);
      },
    }),
    options,
  );
  test = probeClient(a.target, [clientInterceptor()]);
});

afterAll(async () => {
  for (const client of [toB, toC, test]) client.close();
  await Promise.all([a.close(), b.close(), c.close()]);
});

describe('A → B → C', () => {
  it("C sees A's trace id, user id, custom key and a deadline no later than A's", async () => {
    const root = createContext({ userId: 'u-42', values: { [tenantId.name]: 'acme' }, timeoutMs: 5000 });
    const sentAt = Date.now();
    const atC = await runWithContext(root, () => unary(test, { text: 'seen' }));
    root.end();
    expect(atC.hasContext).toBe(true);
    expect(atC.traceId).toBe(root.traceId);
    expect(atC.userId).toBe('u-42');
    expect(atC.tenant).toBe('acme');
    expect(atC.deadline).toBeGreaterThan(0);
    // grpc-timeout is relative, so each hop's deadline moves later by the time the call spent
    // between hops (here, waiting in the shared event loop); nothing else may extend it. Each
    // hop may also round up by 1 ms.
    expect(atA.deadline).toBeLessThanOrEqual(root.deadline! + (atA.at - sentAt) + 1);
    expect(atC.deadline).toBeLessThanOrEqual(atA.deadline + (cAt - atA.at) + 2);
  });

  it("cancelling A's call cancels B's call to C, and C's context signal aborts", async () => {
    cStarted = deferred();
    cAborted = deferred();
    bOutcome = deferred();
    const root = createContext();
    const call = runWithContext(root, () => test.unary({ text: 'hang' }, () => {}));
    await within(5000, cStarted.promise, 'C to start');
    call.cancel();
    expect(await within(5000, cAborted.promise, "C's signal to abort")).toBeInstanceOf(CancelledError);
    expect(await within(5000, bOutcome.promise, "B's call to C to end")).toBe(grpc.status.CANCELLED);
    root.end();
  });

  it('a deadline that expires at B cancels C with DEADLINE_EXCEEDED', async () => {
    cStarted = deferred();
    cAborted = deferred();
    bOutcome = deferred();
    const root = createContext();
    const result = runWithContext(root, () => unary(test, { text: 'b-timeout:hang' }));
    // C's own deadline is a little later than B's (grpc-timeout is relative and the call spent
    // time between hops), so C learns of it either from B's cancellation (an HTTP/2 RST_STREAM,
    // which carries no reason: CancelledError) or from its own timer, whichever comes first.
    const reason = await within(5000, cAborted.promise, "C's signal to abort");
    expect(reason instanceof CancelledError || reason instanceof DeadlineExceededError).toBe(true);
    expect(await within(5000, bOutcome.promise, "B's call to C to end")).toBe(grpc.status.DEADLINE_EXCEEDED);
    await expect(result).rejects.toMatchObject({ code: grpc.status.DEADLINE_EXCEEDED });
    root.end();
  });

  it("a deadline set at A's caller reaches C through B", async () => {
    const atC = await withTimeout(3000, () => unary(test, { text: 'seen' }));
    expect(atC.deadline).toBeGreaterThan(Date.now());
    expect(atC.deadline).toBeLessThanOrEqual(Date.now() + 3000);
  });
});
