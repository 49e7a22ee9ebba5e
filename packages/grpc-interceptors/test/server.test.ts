import * as grpc from '@grpc/grpc-js';
import { CancelledError, createContext, currentContext, DeadlineExceededError, NoContextError, runWithContext, Status } from '@ctxkit/core';
import { afterEach, describe, expect, it } from 'vitest';
import { clientInterceptor, type HandlerErrorRecord, serverInterceptor, statusError, toHttpStatus, wrapService } from '../src/index.js';
import { type ProbeClient, probeClient, type Req, type Running, type Seen, seen, startServer, unary } from './helpers.js';

let running: Running | undefined;
let client: ProbeClient | undefined;

afterEach(async () => {
  client?.close();
  await running?.close();
  client = undefined;
  running = undefined;
});

async function serve(impl: grpc.UntypedServiceImplementation, interceptors = [serverInterceptor()]): Promise<ProbeClient> {
  running = await startServer(impl, { interceptors });
  client = probeClient(running.target, [clientInterceptor()]);
  return client;
}

function collect(stream: grpc.ClientReadableStream<Seen>): Promise<Seen[]> {
  return new Promise((resolve, reject) => {
    const out: Seen[] = [];
    stream.on('data', (s: Seen) => out.push(s));
    stream.on('error', reject);
    stream.on('end', () => resolve(out));
  });
}

// Every handler reports the context it sees, also from stream event listeners and after awaits.
const reporting = {
  async unary(_call: grpc.ServerUnaryCall<Req, Seen>) {
    await new Promise((r) => setImmediate(r));
    return seen('unary');
  },
  serverStream(call: grpc.ServerWritableStream<Req, Seen>) {
    call.write(seen('sync'));
    setImmediate(() => {
      call.write(seen('later'));
      call.end();
    });
  },
  clientStream(call: grpc.ServerReadableStream<Req, Seen>, cb: grpc.sendUnaryData<Seen>) {
    const texts: string[] = [];
    call.on('data', (req: Req) => texts.push(seen(req.text).hasContext ? `${req.text}:ctx` : `${req.text}:none`));
    call.on('end', () => cb(null, seen(texts.join(','))));
  },
  async bidi(call: grpc.ServerDuplexStream<Req, Seen>) {
    // Node 22 destroys a stream whose iteration ends, and a destroyed call can no longer end.
    const requests = (call as unknown as { iterator(o: object): AsyncIterable<Req> }).iterator({ destroyOnReturn: false });
    for await (const req of requests) call.write(seen(req.text));
    call.end();
  },
};

const STANDALONE = '5aacc5051a15264cd404b107d5b13cb3';
const JSON_TRACE = 'f4f8a310ef6d48cf29ef3a2befb90342';

async function allKindsSeen(c: ProbeClient, traceId: string): Promise<void> {
  const ctx = createContext({ traceId, userId: 'u-7' });
  await runWithContext(ctx, async () => {
    const u = await unary(c);
    expect(u).toMatchObject({ traceId, userId: 'u-7', hasContext: true });
    const ss = await collect(c.serverStream({}));
    expect(ss.map((s) => [s.text, s.traceId])).toEqual([
      ['sync', traceId],
      ['later', traceId],
    ]);
    const cs = await new Promise<Seen>((resolve, reject) => {
      const w = c.clientStream((err, res) => (err ? reject(err) : resolve(res!)));
      w.write({ text: 'a' });
      w.write({ text: 'b' });
      w.end();
    });
    expect(cs).toMatchObject({ traceId, text: 'a:ctx,b:ctx' });
    const d = c.bidi();
    const replies = collect(d);
    d.write({ text: 'x' });
    d.write({ text: 'y' });
    d.end();
    expect((await replies).map((s) => [s.text, s.traceId])).toEqual([
      ['x', traceId],
      ['y', traceId],
    ]);
  });
}

describe('serverInterceptor', () => {
  it('runs every call kind in the context from the metadata, event listeners included', async () => {
    const c = await serve(wrapService(reporting));
    await allKindsSeen(c, '0af7651916cd43dd8448eb211c80319c');
  });

  it('keeps concurrent calls apart', async () => {
    const c = await serve(wrapService(reporting));
    const ids = Array.from({ length: 20 }, (_, i) => `${'0af7651916cd43dd8448eb211c8031'}${String(i).padStart(2, '0')}`);
    const results = await Promise.all(ids.map((id) => runWithContext(createContext({ traceId: id }), () => unary(c))));
    expect(results.map((r) => r.traceId)).toEqual(ids);
  });

  it("aborts the handler's signal with DeadlineExceededError at the call's deadline", async () => {
    let reason: unknown;
    const c = await serve({
      unary(_call: grpc.ServerUnaryCall<Req, Seen>) {
        const { signal } = currentContext();
        signal.addEventListener('abort', () => {
          reason = signal.reason;
        });
      },
    });
    await expect(unary(c, {}, new grpc.Metadata(), { deadline: Date.now() + 100 })).rejects.toMatchObject({
      code: grpc.status.DEADLINE_EXCEEDED,
    });
    await expect.poll(() => reason, { timeout: 5000 }).toBeInstanceOf(DeadlineExceededError);
  });

  it('does not cancel the context of a call that finished normally', async () => {
    let signal: AbortSignal | undefined;
    const c = await serve({
      unary(_call: grpc.ServerUnaryCall<Req, Seen>, cb: grpc.sendUnaryData<Seen>) {
        signal = currentContext().signal;
        cb(null, seen());
      },
    });
    await unary(c);
    // grpc-js reports every finished call to onCancel; that must not abort a completed call.
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(signal!.aborted).toBe(false);
  });
});

describe('wrapService', () => {
  it('without the interceptor, builds the context itself (for all four call kinds)', async () => {
    const c = await serve(wrapService(reporting), []);
    const ctx = createContext({ traceId: STANDALONE, userId: 'u-7' });
    await runWithContext(ctx, async () => {
      expect(await unary(c)).toMatchObject({ traceId: STANDALONE, userId: 'u-7', hasContext: true });
      const ss = await collect(c.serverStream({}));
      expect(ss.map((s) => s.traceId)).toEqual([STANDALONE, STANDALONE]);
      const d = c.bidi();
      const replies = collect(d);
      d.write({ text: 'x' });
      d.end();
      expect((await replies).map((s) => s.traceId)).toEqual([STANDALONE]);
    });
  });

  it('a thrown error becomes INTERNAL with a generic message, logged with the trace id', async () => {
    const logged: HandlerErrorRecord[] = [];
    const logger = (r: HandlerErrorRecord) => logged.push(r);
    const secret = new Error('password=hunter2 at db.internal:5432');
    const c = await serve(
      wrapService(
        {
          unary() {
            throw secret;
          },
          async serverStream() {
            throw secret;
          },
          clientStream(_call: unknown, cb: grpc.sendUnaryData<Seen>) {
            cb(secret);
          },
          bidi() {
            return Promise.reject(secret);
          },
        },
        { logger },
      ),
    );
    const ctx = createContext({ traceId: 'trace-of-failure' });
    await runWithContext(ctx, async () => {
      const errors = await Promise.allSettled([
        unary(c),
        collect(c.serverStream({})),
        new Promise((resolve, reject) => c.clientStream((err, res) => (err ? reject(err) : resolve(res))).end()),
        collect(c.bidi()),
      ]);
      for (const e of errors) {
        expect(e).toMatchObject({ status: 'rejected', reason: { code: grpc.status.INTERNAL, details: 'internal error' } });
        expect(JSON.stringify((e as PromiseRejectedResult).reason.metadata.getMap())).not.toContain('hunter2');
      }
    });
    expect(logged).toHaveLength(4);
    // The W3C id, and the legacy id the context was given beside it.
    for (const r of logged) expect(r).toMatchObject({ level: 'error', 'trace-id': ctx.traceId, 'legacy-trace-id': 'trace-of-failure', error: secret });
    expect(logged.map((r) => r.method).sort()).toEqual([
      '/ctxkit.test.Probe/Bidi',
      '/ctxkit.test.Probe/ClientStream',
      '/ctxkit.test.Probe/ServerStream',
      '/ctxkit.test.Probe/Unary',
    ]);
  });

  it('status errors, DeadlineExceededError and CancelledError keep their codes; nothing is logged', async () => {
    const logged: HandlerErrorRecord[] = [];
    const errors: Record<string, unknown> = {
      notFound: statusError(Status.NOT_FOUND, 'no such order'),
      deadline: new DeadlineExceededError(),
      cancelled: new CancelledError(),
      noContext: new NoContextError(),
    };
    const c = await serve(
      wrapService(
        {
          async unary(call: grpc.ServerUnaryCall<Req, Seen>) {
            throw errors[call.request.text ?? ''];
          },
        },
        { logger: (r) => logged.push(r) },
      ),
    );
    await runWithContext(createContext(), async () => {
      await expect(unary(c, { text: 'notFound' })).rejects.toMatchObject({ code: Status.NOT_FOUND, details: 'no such order' });
      await expect(unary(c, { text: 'deadline' })).rejects.toMatchObject({ code: Status.DEADLINE_EXCEEDED });
      await expect(unary(c, { text: 'cancelled' })).rejects.toMatchObject({ code: Status.CANCELLED });
      expect(logged).toHaveLength(0);
      await expect(unary(c, { text: 'noContext' })).rejects.toMatchObject({ code: Status.INTERNAL, details: 'internal error' });
      expect(logged).toHaveLength(1);
    });
  });

  it('works with class instances (generated-stub style) and keeps `this`', async () => {
    class Impl {
      readonly greeting = 'hi';
      async unary(this: Impl) {
        return seen(this.greeting);
      }
    }
    const c = await serve(wrapService(new Impl()));
    expect((await runWithContext(createContext(), () => unary(c))).text).toBe('hi');
  });

  it('the default logger writes one line of JSON', async () => {
    const lines: unknown[][] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => lines.push(args);
    try {
      const c = await serve(
        wrapService({
          unary() {
            throw new Error('boom');
          },
        }),
      );
      await runWithContext(createContext({ traceId: JSON_TRACE }), () => unary(c)).catch(() => {});
    } finally {
      console.error = original;
    }
    expect(lines).toHaveLength(1);
    const line = lines[0]![0] as string;
    expect(line).not.toContain('\n');
    expect(JSON.parse(line)).toMatchObject({ 'trace-id': JSON_TRACE, error: { message: 'boom' } });
  });
});

describe('statusError', () => {
  it('builds a grpc-js ServiceError-shaped error and refuses codes that are not errors', () => {
    const md = new grpc.Metadata();
    md.set('retry-after', '3');
    const e = statusError(Status.UNAVAILABLE, 'try later', { metadata: md });
    expect(e).toMatchObject({ code: 14, details: 'try later', message: '14 UNAVAILABLE: try later' });
    expect(e.metadata.get('retry-after')).toEqual(['3']);
    expect(() => statusError(0 as never, 'ok')).toThrowErrorMatchingInlineSnapshot(`[RangeError: ctxkit: statusError needs a gRPC status code from 1 to 16, got 0]`);
    expect(toHttpStatus(Status.UNAVAILABLE)).toBe(503);
  });
});
