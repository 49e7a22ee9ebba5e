import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { STREAM_RESET_LIMIT, setStreamResetLimit } from '../src/index.js';

const bytes = { serialize: (b: Buffer) => b, deserialize: (b: Buffer) => b };
const service = {
  hold: {
    path: '/ctxkit.test.Reset/Hold',
    requestStream: false,
    responseStream: false,
    requestSerialize: bytes.serialize,
    requestDeserialize: bytes.deserialize,
    responseSerialize: bytes.serialize,
    responseDeserialize: bytes.deserialize,
  },
} satisfies grpc.ServiceDefinition;

describe('setStreamResetLimit', () => {
  it('lets one connection carry 3,000 cancellations in a burst: every call CANCELLED, no session torn down', async () => {
    // With Node's default limit (a burst of 1000, then 33 a second) the same burst ends the
    // session and a few hundred of these calls fail with INTERNAL instead (200 measured on Node 24).
    const server = new grpc.Server();
    setStreamResetLimit(server);
    let received = 0;
    // Calls of the round not yet held by the server nor ended: at 0, every cancel is an RST_STREAM.
    let pending = 0;
    let settled: (() => void) | undefined;
    const settle = () => {
      if (--pending === 0) settled?.();
    };
    server.addService(service, {
      hold: () => {
        received++;
        settle();
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, p) => (error ? reject(error) : resolve(p))),
    );
    const Client = grpc.makeGenericClientConstructor(service, 'Reset');
    const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
      hold(request: Buffer, callback: (error: grpc.ServiceError | null) => void): grpc.ClientUnaryCall;
    };
    const codes = new Map<number, number>();
    try {
      for (let round = 1; round <= 30; round++) {
        // 100 calls in flight; once the server holds all of them, each cancel is an RST_STREAM.
        // (A call that ends first, as on a torn-down session, settles too: the codes below tell.)
        pending = 100;
        const allHeld = new Promise<void>((resolve) => {
          settled = resolve;
        });
        const ends: Promise<void>[] = [];
        const calls: grpc.ClientUnaryCall[] = [];
        let cancelling = false;
        for (let i = 0; i < 100; i++) {
          ends.push(
            new Promise((resolve) => {
              calls.push(
                client.hold(Buffer.from('x'), (error) => {
                  const code = error?.code ?? -1;
                  codes.set(code, (codes.get(code) ?? 0) + 1);
                  if (!cancelling) settle();
                  resolve();
                }),
              );
            }),
          );
        }
        await allHeld;
        cancelling = true;
        for (const call of calls) call.cancel();
        await Promise.all(ends);
      }
    } finally {
      client.close();
      server.forceShutdown();
    }
    expect(Object.fromEntries(codes)).toEqual({ [grpc.status.CANCELLED]: 3000 });
    expect(received).toBe(3000);
  });

  it('refuses a limit that is not a positive integer, and a server that keeps no HTTP/2 options', () => {
    const server = new grpc.Server();
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => setStreamResetLimit(server, { burst: bad, rate: 10 })).toThrow(RangeError);
      expect(() => setStreamResetLimit(server, { burst: 10, rate: bad })).toThrow(RangeError);
    }
    expect(() => setStreamResetLimit({} as grpc.Server)).toThrow(/keeps no HTTP\/2 server options/);
    expect(STREAM_RESET_LIMIT).toEqual({ burst: 10_000, rate: 1_000 });
    server.forceShutdown();
  });
});
