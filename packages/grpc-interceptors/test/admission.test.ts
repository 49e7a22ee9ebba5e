import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import * as grpc from '@grpc/grpc-js';
import { REFUSED_CHANNEL, type RefusedMessage, refusedRequests } from '@ctxkit/core/diagnostics';
import { afterEach, describe, expect, it } from 'vitest';
import { serverInterceptor, wrapService } from '../src/index.js';
import { deferred, probeClient, type Running, type Seen, seen, startServer, unary, within } from './helpers.js';

const UNARY = '/ctxkit.test.Probe/Unary';
const running: Running[] = [];
const clients: grpc.Client[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const r of running.splice(0)) await r.close();
  refusedRequests(true);
});

/** The Probe service, counting the handlers that started. */
function countingService() {
  const started = { unary: 0, serverStream: 0, clientStream: 0, bidi: 0 };
  const impl = {
    unary(_call: grpc.ServerUnaryCall<unknown, Seen>, cb: grpc.sendUnaryData<Seen>) {
      started.unary++;
      cb(null, seen('ran'));
    },
    serverStream(call: grpc.ServerWritableStream<unknown, Seen>) {
      started.serverStream++;
      call.write(seen('ran'));
      call.end();
    },
    clientStream(call: grpc.ServerReadableStream<unknown, Seen>, cb: grpc.sendUnaryData<Seen>) {
      started.clientStream++;
      call.on('data', () => undefined).on('end', () => cb(null, seen('ran')));
    },
    bidi(call: grpc.ServerDuplexStream<unknown, Seen>) {
      started.bidi++;
      call.on('data', () => undefined).on('end', () => call.end());
    },
  };
  return { started, impl };
}

async function serve(impl: grpc.UntypedServiceImplementation, options: grpc.ServerOptions = {}) {
  const r = await startServer(impl, options);
  running.push(r);
  const client = probeClient(r.target);
  clients.push(client);
  return client;
}

const inMs = (ms: number) => ({ deadline: Date.now() + ms });

/**
 * A real slow interceptor, slow on the CPU (a synchronous signature check, say): at each call's
 * half-close, which is what starts a unary handler, it works until the call's deadline has
 * passed, then lets the call on in the same turn of the event loop, so no deadline timer (grpc-js's
 * or ctxkit's) can have fired. Without ctxkit, grpc-js then starts the handler (the control test).
 */
function slowInterceptor(): grpc.ServerInterceptor {
  return (_method, call) =>
    new grpc.ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveHalfClose: (forward) => {
            const deadline = Number(call.getDeadline());
            while (Date.now() <= deadline);
            forward();
          },
        }),
    });
}

describe('serverInterceptor minBudgetMs', () => {
  it('refuses a call with less left than its method needs, DEADLINE_EXCEEDED, without starting the handler', async () => {
    const { started, impl } = countingService();
    const client = await serve(wrapService(impl), { interceptors: [serverInterceptor({ minBudgetMs: { [UNARY]: 5_000 } })] });
    // The connection is up first, so the refused call's budget is not spent on setting it up.
    expect((await unary(client)).text).toBe('ran'); // no deadline: never refused for its budget
    const error = await unary(client, {}, new grpc.Metadata(), inMs(2_000)).catch((e: grpc.ServiceError) => e);
    expect((error as grpc.ServiceError).code).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect((error as grpc.ServiceError).details).toBe('deadline exceeded: not enough time left to serve this request');
    expect(started.unary).toBe(1);
    expect((await unary(client, {}, new grpc.Metadata(), inMs(10_000))).text).toBe('ran');
    expect(started.unary).toBe(2);
    expect(refusedRequests()).toEqual({ [UNARY]: 1 });
  });

  it('one figure covers every method and every call kind: streaming handlers are refused before they start', async () => {
    const { started, impl } = countingService();
    const client = await serve(impl, { interceptors: [serverInterceptor({ minBudgetMs: 1_000 })] });
    const opts = inMs(300);
    const serverStream = client.serverStream({}, new grpc.Metadata(), opts);
    serverStream.on('data', () => undefined);
    const clientStream = deferred<grpc.ServiceError | null>();
    client.clientStream(new grpc.Metadata(), opts, (e) => clientStream.resolve(e)).end();
    const bidi = client.bidi(new grpc.Metadata(), opts);
    bidi.on('data', () => undefined);
    bidi.end();
    const codes = await within(
      5_000,
      Promise.all([
        new Promise<number>((resolve) => serverStream.on('error', (e: grpc.ServiceError) => resolve(e.code))),
        clientStream.promise.then((e) => e?.code),
        new Promise<number>((resolve) => bidi.on('error', (e: grpc.ServiceError) => resolve(e.code))),
      ]),
      'three refusals',
    );
    expect(codes).toEqual([grpc.status.DEADLINE_EXCEEDED, grpc.status.DEADLINE_EXCEEDED, grpc.status.DEADLINE_EXCEEDED]);
    expect(started).toEqual({ unary: 0, serverStream: 0, clientStream: 0, bidi: 0 });
    expect(Object.values(refusedRequests()).reduce((a, b) => a + b, 0)).toBe(3);
  });

  it('throws at set-up for a negative figure', () => {
    expect(() => serverInterceptor({ minBudgetMs: { [UNARY]: -1 } })).toThrowErrorMatchingInlineSnapshot(
      `[RangeError: ctxkit: minBudgetMs of /ctxkit.test.Probe/Unary must be a finite number of milliseconds >= 0, got -1]`,
    );
  });
});

describe('a call whose deadline passed while it waited never starts its handler', () => {
  /**
   * Makes one unary call of 300 ms and returns what was refused meanwhile. The server judges the
   * call (refuses it or starts its handler) in the turn in which the slow interceptor lets it on,
   * before any timer, so before the client's own deadline ends the call.
   */
  async function lateCall(impl: grpc.UntypedServiceImplementation, interceptors: grpc.ServerInterceptor[]) {
    const client = await serve(impl, { interceptors });
    // Connected first: on a loaded machine, setting the connection up could spend the 300 ms.
    await new Promise<void>((resolve, reject) => client.waitForReady(Date.now() + 5_000, (e) => (e ? reject(e) : resolve())));
    const refused: RefusedMessage[] = [];
    const onMessage = (m: unknown) => refused.push(m as RefusedMessage);
    subscribe(REFUSED_CHANNEL, onMessage);
    try {
      // 300 ms, not less: the server must read the call before the client's own timer ends it,
      // even on a loaded machine.
      const call = unary(client, {}, new grpc.Metadata(), inMs(300)).catch((e: grpc.ServiceError) => e);
      const error = (await within(5_000, call, 'the call to end')) as grpc.ServiceError;
      expect(error.code).toBe(grpc.status.DEADLINE_EXCEEDED);
      return refused;
    } finally {
      unsubscribe(REFUSED_CHANNEL, onMessage);
    }
  }

  it('control: without ctxkit, grpc-js starts the handler of a call whose deadline has passed', async () => {
    const { started, impl } = countingService();
    expect(await lateCall(impl, [slowInterceptor()])).toEqual([]);
    expect(started.unary).toBe(1);
  });

  // Both orders: the slow interceptor before ctxkit's (ctxkit judges the call at half-close), and
  // after it, nearer the handler (the service wrapper judges the call as its handler starts).
  it.each([
    ['before the ctxkit interceptor, plain handlers', 'before'],
    ['after the ctxkit interceptor, with wrapService', 'after'],
    ['with wrapService and no ctxkit interceptor', 'alone'],
  ])('slow interceptor %s', async (_name, order) => {
    const { started, impl } = countingService();
    const slow = slowInterceptor();
    const interceptors = order === 'before' ? [slow, serverInterceptor()] : order === 'after' ? [serverInterceptor(), slow] : [slow];
    const refused = await lateCall(order === 'before' ? impl : wrapService(impl), interceptors);
    expect(started.unary).toBe(0);
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatchObject({ what: UNARY, remainingMs: 0, minBudgetMs: 0 });
    expect(refusedRequests()).toEqual({ [UNARY]: 1 });
  });
});

describe('wrapService minBudgetMs', () => {
  it('by handler name: only the named handler needs the budget', async () => {
    const { started, impl } = countingService();
    const client = await serve(wrapService(impl, { minBudgetMs: { unary: 2_000 } }), { interceptors: [serverInterceptor()] });
    await new Promise<void>((resolve, reject) => client.waitForReady(Date.now() + 5_000, (e) => (e ? reject(e) : resolve())));
    const error = (await unary(client, {}, new grpc.Metadata(), inMs(500)).catch((e: grpc.ServiceError) => e)) as grpc.ServiceError;
    expect(error.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    const stream = client.serverStream({}, new grpc.Metadata(), inMs(10_000));
    const texts: string[] = [];
    stream.on('data', (s: Seen) => texts.push(s.text));
    await within(5_000, new Promise((resolve) => stream.on('end', resolve)), 'the stream');
    expect(texts).toEqual(['ran']);
    expect(started).toMatchObject({ unary: 0, serverStream: 1 });
    expect(refusedRequests()).toEqual({ [UNARY]: 1 });
  });

  it('throws at set-up for a name that is not a handler', () => {
    const { impl } = countingService();
    expect(() => wrapService(impl, { minBudgetMs: { Unary: 10 } })).toThrowErrorMatchingInlineSnapshot(
      `[RangeError: ctxkit: minBudgetMs names "Unary", which is not a handler of this service (unary, serverStream, clientStream, bidi)]`,
    );
  });
});
