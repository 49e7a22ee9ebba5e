import * as grpc from '@grpc/grpc-js';
import { CancelledError, createContext, currentContext, DeadlineExceededError, runWithContext, Status } from '@ctxkit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientInterceptor, serverInterceptor, statusError, wrapService } from '../src/index.js';
import { aborted, deferred, type ProbeClient, probeClient, type Req, type Running, type Seen, seen, startServer, unary, within } from './helpers.js';

// The grpc interop cases (github.com/grpc/grpc/blob/master/doc/interop-test-descriptions.md)
// that touch metadata, deadlines, cancellation and status, with ctxkit on both ends.
let server: Running;
let client: ProbeClient;
let serverAbort = deferred<unknown>();
let serverStarted = deferred();
const ECHO_INITIAL = 'x-grpc-test-echo-initial';
const ECHO_TRAILING = 'x-grpc-test-echo-trailing-bin';
const SPECIAL = '\t\ntest with whitespace\r\nand Unicode BMP ☺ and non-BMP 😈\t\n';

function watchAbort(): void {
  const { signal } = currentContext();
  serverStarted.resolve();
  void aborted(signal).then((reason) => serverAbort.resolve(reason));
}

beforeAll(async () => {
  server = await startServer(
    wrapService({
      async unary(call: grpc.ServerUnaryCall<Req, Seen>) {
        const text = call.request.text ?? '';
        if (text === 'sleep') {
          watchAbort();
          await aborted(currentContext().signal);
          throw currentContext().signal.reason;
        }
        if (text === 'status') throw statusError(Status.UNKNOWN, 'test status message');
        if (text === 'special') throw statusError(Status.UNKNOWN, SPECIAL);
        const initial = call.metadata.get(ECHO_INITIAL);
        if (initial.length > 0) {
          const md = new grpc.Metadata();
          md.set(ECHO_INITIAL, initial[0]!);
          call.sendMetadata(md);
        }
        return seen(text);
      },
      // These handlers answer only once their work (here: waiting for the signal) is done, as real
      // ones do. (On a client cancel grpc-js also ends the request stream; a handler that answered
      // on that 'end' would have finished, and its context is then ended, not aborted.)
      async clientStream(call: grpc.ServerReadableStream<Req, Seen>) {
        watchAbort();
        call.on('data', () => {});
        await aborted(currentContext().signal);
        throw currentContext().signal.reason;
      },
      bidi(call: grpc.ServerDuplexStream<Req, Seen>) {
        watchAbort();
        call.on('data', (req: Req) => call.write(seen(req.text)));
      },
    }),
    { interceptors: [serverInterceptor()] },
  );
  client = probeClient(server.target, [clientInterceptor()]);
  // Connect first: a 100 ms deadline must not be spent setting up the channel on a busy machine.
  await runWithContext(createContext(), () => unary(client));
});

afterAll(async () => {
  client.close();
  await server.close();
});

describe('interop-style cases', () => {
  it('timeout_on_sleeping_server: DEADLINE_EXCEEDED, and the server context aborts with DeadlineExceededError', async () => {
    serverAbort = deferred();
    const ctx = createContext({ timeoutMs: 100 });
    await expect(runWithContext(ctx, () => unary(client, { text: 'sleep' }))).rejects.toMatchObject({
      code: grpc.status.DEADLINE_EXCEEDED,
    });
    expect(await within(5000, serverAbort.promise)).toBeInstanceOf(DeadlineExceededError);
  });

  it('cancel_after_begin: CANCELLED, and the server context aborts with CancelledError', async () => {
    serverAbort = deferred();
    serverStarted = deferred();
    const status = await runWithContext(createContext(), async () => {
      const call = client.clientStream(() => {});
      const done = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
      call.write({});
      await within(5000, serverStarted.promise, 'the handler to start');
      call.cancel();
      return done;
    });
    expect(status.code).toBe(grpc.status.CANCELLED);
    expect(await within(5000, serverAbort.promise)).toBeInstanceOf(CancelledError);
  });

  it('cancel_after_first_response: CANCELLED, and the server context aborts with CancelledError', async () => {
    serverAbort = deferred();
    const status = await runWithContext(createContext(), async () => {
      const call = client.bidi();
      const done = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
      call.on('error', () => {});
      const first = new Promise<Seen>((resolve) => call.once('data', resolve));
      call.write({ text: 'one' });
      expect((await within(5000, first)).text).toBe('one');
      call.cancel();
      return done;
    });
    expect(status.code).toBe(grpc.status.CANCELLED);
    expect(await within(5000, serverAbort.promise)).toBeInstanceOf(CancelledError);
  });

  it('custom_metadata: initial and trailing metadata echoed beside the context keys', async () => {
    const server2 = await startServer(
      {
        unary(call: grpc.ServerUnaryCall<Req, Seen>, cb: grpc.sendUnaryData<Seen>) {
          const initial = new grpc.Metadata();
          initial.set(ECHO_INITIAL, call.metadata.get(ECHO_INITIAL)[0]!);
          call.sendMetadata(initial);
          const trailing = new grpc.Metadata();
          trailing.set(ECHO_TRAILING, call.metadata.get(ECHO_TRAILING)[0]!);
          cb(null, seen(), trailing);
        },
      },
      { interceptors: [serverInterceptor()] },
    );
    const c = probeClient(server2.target, [clientInterceptor()]);
    try {
      const md = new grpc.Metadata();
      md.set(ECHO_INITIAL, 'test_initial_metadata_value');
      md.set(ECHO_TRAILING, Buffer.from([0xab, 0xab, 0xab]));
      const ctx = createContext({ userId: 'u-1' });
      const got = await runWithContext(
        ctx,
        () =>
          new Promise<{ initial: grpc.Metadata; trailing: grpc.Metadata; seen: Seen }>((resolve, reject) => {
            let initial: grpc.Metadata;
            let result: Seen;
            const call = c.unary({}, md, (err, res) => {
              if (err) reject(err);
              else result = res!;
            });
            call.on('metadata', (m) => {
              initial = m;
            });
            call.on('status', (s) => resolve({ initial, trailing: s.metadata, seen: result }));
          }),
      );
      expect(got.initial.get(ECHO_INITIAL)).toEqual(['test_initial_metadata_value']);
      expect(got.trailing.get(ECHO_TRAILING)).toEqual([Buffer.from([0xab, 0xab, 0xab])]);
      expect(got.seen).toMatchObject({ traceId: ctx.traceId, userId: 'u-1' });
    } finally {
      c.close();
      await server2.close();
    }
  });

  it('status_code_and_message: code and message reach the caller', async () => {
    await expect(runWithContext(createContext(), () => unary(client, { text: 'status' }))).rejects.toMatchObject({
      code: 2,
      details: 'test status message',
    });
  });

  it('special_status_message: whitespace and Unicode survive', async () => {
    await expect(runWithContext(createContext(), () => unary(client, { text: 'special' }))).rejects.toMatchObject({
      code: 2,
      details: SPECIAL,
    });
  });
});
