import { connect as tcpConnect } from 'node:net';
import { once } from 'node:events';
import { AckPolicy, connect, type Msg, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bindContext,
  CancelledError,
  createContext,
  currentContext,
  DeadlineExceededError,
  defineKey,
  type Drop,
  runWithContext,
  withCancel,
  withTimeout,
} from '@ctxkit/core';
import { contextHeaders, jetstreamHandler, publish, request, subscribe } from '../src/index.js';
import { type NatsVarz, startNats, type TestServer } from '@ctxkit/test-support/servers';

const tenantId = defineKey('tenant-id');
const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT = `00-${TRACE}-00f067aa0ba902b7-01`;

type Seen = { traceId: string; requestId: string; userId: string | undefined; tenant: string | undefined; deadline: number | undefined; traceparent: string | undefined };
function seen(): Seen {
  const ctx = currentContext();
  return {
    traceId: ctx.traceId,
    requestId: ctx.requestId,
    userId: ctx.userId,
    tenant: ctx.get(tenantId),
    deadline: ctx.deadline,
    traceparent: ctx.metadata.get('traceparent'),
  };
}

/** A request context as an HTTP edge would have built it: a received traceparent, a user, a tenant. */
function inbound(timeoutMs?: number) {
  const edge = createContext({ userId: 'alice', values: { tenantId: 'acme' }, timeoutMs, traceId: TRACE });
  return edge;
}

let server: TestServer & { varz(): Promise<NatsVarz> };
let nc: NatsConnection;
let peer: NatsConnection;
beforeAll(async () => {
  server = await startNats();
  nc = await connect({ servers: server.address });
  peer = await connect({ servers: server.address });
});
afterAll(async () => {
  await nc?.close();
  await peer?.close();
  await server?.stop();
});

function nextMessage(conn: NatsConnection, subject: string): { ready: Promise<void>; msg: Promise<Msg> } {
  const sub = conn.subscribe(subject, { max: 1 });
  const msg = (async () => {
    for await (const m of sub) return m;
    throw new Error('subscription ended without a message');
  })();
  return { ready: conn.flush(), msg };
}

describe('publish and subscribe', () => {
  it('runs the consumer with the producer\'s ids, user and keys, detached from its deadline', async () => {
    const got = new Promise<Seen>((resolve) => {
      subscribe(peer, 'orders.created', () => resolve(seen()), { trust: 'internal' });
    });
    await peer.flush();
    const producer = inbound(2000);
    runWithContext(producer, () => publish(nc, 'orders.created', '{"id":1}'));
    const consumer = await got;
    expect(consumer).toMatchObject({ traceId: TRACE, requestId: producer.requestId, userId: 'alice', tenant: 'acme' });
    expect(consumer.deadline).toBeUndefined(); // an event outlives the request
    producer.end();
  });

  it('forwards a received traceparent unchanged', async () => {
    const got = new Promise<Seen>((resolve) => {
      subscribe(peer, 'trace.pass', () => resolve(seen()), { trust: 'internal' });
    });
    await peer.flush();
    const { ready, msg } = nextMessage(peer, 'trace.raw');
    await ready;
    const ctx = createContext();
    (ctx.metadata as Map<string, string>).set('traceparent', PARENT); // as the extractor keeps one received
    runWithContext(ctx, () => {
      publish(nc, 'trace.pass');
      publish(nc, 'trace.raw');
    });
    expect((await got).traceparent).toBe(PARENT);
    expect((await msg).headers?.get('traceparent')).toBe(PARENT);
  });

  it('honours only what the subscription trusts', async () => {
    const got = new Promise<Seen>((resolve) => {
      subscribe(peer, 'public.events', () => resolve(seen()), { trust: 'edge' });
    });
    await peer.flush();
    const producer = inbound();
    runWithContext(producer, () => publish(nc, 'public.events'));
    const consumer = await got;
    expect(consumer.traceId).toBe(TRACE); // correlation is always read
    expect(consumer.userId).toBeUndefined();
    expect(consumer.tenant).toBeUndefined();
    expect(consumer.requestId).not.toBe(producer.requestId);
  });

  it('a subscription trusting named keys reads those only', async () => {
    const got = new Promise<Seen>((resolve) => {
      subscribe(peer, 'tenant.events', () => resolve(seen()), { trust: { keys: [tenantId] } });
    });
    await peer.flush();
    runWithContext(inbound(), () => publish(nc, 'tenant.events'));
    const consumer = await got;
    expect(consumer.tenant).toBe('acme');
    expect(consumer.userId).toBeUndefined();
  });

  it('a publish from a callback kept from an ended request is reported once per call site', async () => {
    const requestA = createContext({ userId: 'alice' });
    const pool = runWithContext(requestA, () => ({ onIdle: bindContext(() => publish(nc, 'pool.idle')) }));
    requestA.end();
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      runWithContext(createContext({ userId: 'bob' }), () => {
        pool.onIdle();
        pool.onIdle();
      });
      await new Promise((r) => setImmediate(r));
    } finally {
      process.off('warning', onWarning);
    }
    const ended = warnings.filter((w) => (w as Error & { code?: string }).code === 'CTXKIT_ENDED_CONTEXT');
    expect(ended).toHaveLength(1);
    expect(ended[0]!.message).toMatch(new RegExp(`NATS publish to pool\\.idle at .*nats\\.test\\.ts:\\d+.* request ${requestA.requestId}`));
  });

  it('reports a publish made outside any context once per call site, or throws when asked', () => {
    expect(() => publish(nc, 'nowhere', undefined, { missingContext: 'throw' })).toThrowError(/NATS publish to nowhere outside any request context/);
  });
});

describe('request-reply', () => {
  it('the responder runs under the caller\'s deadline, with its ids', async () => {
    const sub = subscribe(peer, 'stock.check', (msg) => msg.respond(JSON.stringify(seen())), { trust: 'internal' });
    await peer.flush();
    const caller = inbound(3000);
    const sent = Date.now();
    const reply = await runWithContext(caller, () => request(nc, 'stock.check'));
    const transit = Date.now() - sent;
    const responder = reply.json<Seen>();
    expect(responder).toMatchObject({ traceId: TRACE, requestId: caller.requestId, userId: 'alice', tenant: 'acme' });
    // The budget travels as whole ms left; the responder counts it from its arrival.
    expect(responder.deadline).toBeGreaterThan(caller.deadline! - 1000);
    expect(responder.deadline).toBeLessThanOrEqual(caller.deadline! + transit);
    caller.end();
    sub.unsubscribe();
  });

  it('a slow responder is cut at the caller\'s deadline, and its own context aborts', async () => {
    let responderAborted!: Promise<unknown>;
    const started = new Promise<void>((resolve) => {
      subscribe(
        peer,
        'stock.slow',
        async () => {
          const { signal } = currentContext();
          responderAborted = signal.aborted ? Promise.resolve(signal.reason) : once(signal, 'abort').then(() => signal.reason);
          resolve();
          await responderAborted; // works until its context says stop
        },
        { trust: 'internal' },
      );
    });
    await peer.flush();
    const t0 = Date.now();
    const failure = withTimeout(300, () => request(nc, 'stock.slow', undefined, { timeoutMs: 10_000 })).catch((e: unknown) => e);
    await started;
    const error = await failure;
    expect(error).toBeInstanceOf(DeadlineExceededError);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    expect(await responderAborted).toBeInstanceOf(DeadlineExceededError);
  });

  it('a caller that gives up cancels the responder\'s context', async () => {
    let responderAborted!: Promise<unknown>;
    const started = new Promise<void>((resolve) => {
      subscribe(
        peer,
        'stock.cancel',
        async () => {
          const { signal } = currentContext();
          responderAborted = signal.aborted ? Promise.resolve(signal.reason) : once(signal, 'abort').then(() => signal.reason);
          // A cancel published before the cancel subscription reaches the server is lost (the
          // README says so); the round trip makes sure it has before the caller gives up.
          await peer.flush();
          resolve();
          await responderAborted;
        },
        { trust: 'internal' },
      );
    });
    await peer.flush();
    const failure = withCancel((cancel) => {
      void started.then(() => cancel());
      return request(nc, 'stock.cancel', undefined, { timeoutMs: 10_000 });
    }).catch((e: unknown) => e);
    expect(await failure).toBeInstanceOf(CancelledError);
    expect(await responderAborted).toBeInstanceOf(CancelledError);
  });

  it('sends nothing when the context has no time left', async () => {
    const before = (await server.varz()).in_msgs;
    const ctx = createContext({ timeoutMs: 0 });
    await expect(runWithContext(ctx, () => request(nc, 'stock.none'))).rejects.toBeInstanceOf(DeadlineExceededError);
    await nc.flush();
    expect((await server.varz()).in_msgs).toBe(before);
  });

  it('caps a budget longer than the responder allows', async () => {
    const sub = subscribe(peer, 'stock.capped', (msg) => msg.respond(JSON.stringify(seen())), { trust: 'internal', maxTimeoutMs: 1000 });
    await peer.flush();
    const reply = await withTimeout(60_000, () => request(nc, 'stock.capped', undefined, { timeoutMs: 60_000 }));
    expect(reply.json<Seen>().deadline! - Date.now()).toBeLessThanOrEqual(1000);
    sub.unsubscribe();
  });
});

/** Publishes raw protocol bytes, as a producer written in anything could. */
async function rawPublish(subject: string, headerLines: string[]): Promise<void> {
  const socket = tcpConnect(server.port, '127.0.0.1');
  await once(socket, 'connect');
  const header = Buffer.from(`NATS/1.0\r\n${headerLines.map((l) => `${l}\r\n`).join('')}\r\n`, 'utf8');
  const body = Buffer.from('{}');
  socket.write('CONNECT {"verbose":false,"pedantic":false,"headers":true}\r\n');
  socket.write(`HPUB ${subject} ${header.length} ${header.length + body.length}\r\n`);
  socket.write(Buffer.concat([header, body, Buffer.from('\r\nPING\r\n')]));
  let text = '';
  for await (const chunk of socket) {
    text += String(chunk);
    if (text.includes('PONG')) break;
    if (text.includes('-ERR')) throw new Error(`server refused the raw message: ${text}`);
  }
  socket.destroy();
}

describe('hostile producers', () => {
  it('drops oversized, non-ASCII, CR/LF and untrusted values with a reason and forwards none of them', async () => {
    const drops: Drop[] = [];
    const forwarded = nextMessage(peer, 'hostile.onward');
    let handled!: (s: Seen) => void;
    const got = new Promise<Seen>((resolve) => {
      handled = resolve;
    });
    subscribe(
      nc,
      'hostile.in',
      () => {
        handled(seen());
        publish(nc, 'hostile.onward'); // what this consumer forwards
      },
      { trust: 'internal', onDrop: (drop) => drops.push(drop) },
    );
    await Promise.all([nc.flush(), forwarded.ready]);
    await rawPublish('hostile.in', [
      `trace-id: ${'a'.repeat(300)}`,
      'user-id: admin root',
      'tenant-id: caf\u00e9',
      'x-internal-role: admin',
      'request-timeout-ms: 99999999999',
      'cancel-subject: >',
    ]);
    const consumer = await got;
    expect(consumer.userId).toBeUndefined();
    expect(consumer.tenant).toBeUndefined();
    expect(consumer.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(drops.map((d) => `${d.key}: ${d.reason}`).sort()).toEqual([
      'tenant-id: not printable ASCII (or blank at an end)',
      'trace-id: longer than 128 characters',
      'user-id: does not match the key pattern',
    ]);
    for (const d of drops) expect(d.traceId).toBe(consumer.traceId);
    const onward = await forwarded.msg;
    expect(onward.headers?.keys().sort()).toEqual(['request-id', 'trace-id', 'traceparent']); // ctxkit starts a traceparent for a chain that came without one
  });

  it('a header block with CR or LF in a value is dropped whole: none of its keys is taken', async () => {
    const drops: Drop[] = [];
    const got = new Promise<Seen>((resolve) => {
      subscribe(nc, 'crlf.in', () => resolve(seen()), { trust: 'internal', onDrop: (drop) => drops.push(drop) });
    });
    await nc.flush();
    await rawPublish('crlf.in', ['user-id: admin\rroot', 'tenant-id: acme', 'x: a\nb']);
    const consumer = await got;
    expect(consumer.userId).toBeUndefined();
    expect(consumer.tenant).toBeUndefined();
    expect(drops.map((d) => `${d.key}: ${d.reason}`)).toEqual([
      'headers: malformed header block (invalid header value - \\r and \\n are not allowed.)',
    ]);
  });

  it('a malformed header block never crashes the consumer', async () => {
    const got: Seen[] = [];
    let done!: () => void;
    const all = new Promise<void>((resolve) => {
      done = resolve;
    });
    subscribe(
      nc,
      'malformed.in',
      () => {
        got.push(seen());
        if (got.length === 4) done();
      },
      { trust: 'internal', onDrop: () => {} },
    );
    await nc.flush();
    await rawPublish('malformed.in', ['no colon on this line', ': empty key', 'user-id:', 'user-id: a', 'USER-ID: b']);
    await rawPublish('malformed.in', ['\u0001\u0002: \u00ff\u00fe', 'trace-id: \t ']);
    await rawPublish('malformed.in', ['traceparent: 00-zz-yy-01', 'tracestate: ,,,=']);
    await rawPublish('malformed.in', [`tenant-id: ${'x'.repeat(60_000)}`]);
    await all;
    expect(got.map((s) => s.userId)).toEqual([undefined, undefined, undefined, undefined]); // sent twice: ambiguous
    for (const s of got) expect(s.traceId).toMatch(/^[0-9a-f]{32}$/);
  });
});

describe('10,000 messages', () => {
  it('each runs in its own producer\'s context; nothing is left open', async () => {
    const N = 10_000;
    const subsBefore = (await server.varz()).subscriptions;
    let mismatches = 0;
    let received = 0;
    let done!: () => void;
    const all = new Promise<void>((resolve) => {
      done = resolve;
    });
    const sub = subscribe(
      peer,
      'bulk.events',
      async (msg) => {
        const want = msg.string();
        await Promise.resolve(); // interleave the handlers
        const ctx = currentContext();
        if (ctx.userId !== `u${want}` || ctx.get(tenantId) !== `t${want}`) mismatches++;
        if (++received === N) done();
      },
      { trust: 'internal' },
    );
    await peer.flush();
    for (let i = 0; i < N; i++) {
      const ctx = createContext({ userId: `u${i}`, values: { tenantId: `t${i}` } });
      runWithContext(ctx, () => publish(nc, 'bulk.events', String(i)));
    }
    await nc.flush();
    await all;
    expect(received).toBe(N);
    expect(mismatches).toBe(0);
    sub.unsubscribe();
    await peer.flush();
    expect((await server.varz()).subscriptions).toBe(subsBefore);
  });

  it('1,000 requests under deadlines leave no cancel subscription and no timer behind', async () => {
    const N = 1000;
    const sub = subscribe(peer, 'bulk.rpc', (msg) => msg.respond(currentContext().userId ?? ''), { trust: 'internal' });
    await peer.flush();
    const subsBefore = (await server.varz()).subscriptions;
    const timersBefore = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    let mismatches = 0;
    for (let batch = 0; batch < N; batch += 100) {
      await Promise.all(
        Array.from({ length: 100 }, async (_, j) => {
          const ctx = createContext({ userId: `r${batch + j}`, timeoutMs: 10_000 });
          const reply = await runWithContext(ctx, () => request(nc, 'bulk.rpc'));
          if (reply.string() !== `r${batch + j}`) mismatches++;
          ctx.end();
        }),
      );
    }
    await peer.flush();
    expect(mismatches).toBe(0);
    expect((await server.varz()).subscriptions).toBe(subsBefore);
    expect(process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length).toBeLessThanOrEqual(timersBefore);
    sub.unsubscribe();
  });
});

describe('JetStream', () => {
  it('a consumer runs each message in its producer\'s context, and a redelivery in the same one', async () => {
    const js = await startNats({ jetstream: true });
    const conn = await connect({ servers: js.address });
    try {
      const jsm = await conn.jetstreamManager();
      await jsm.streams.add({ name: 'ORDERS', subjects: ['orders.>'] });
      await jsm.consumers.add('ORDERS', { durable_name: 'ship', ack_policy: AckPolicy.Explicit });
      const producer = inbound(1000);
      await runWithContext(producer, () => conn.jetstream().publish('orders.placed', '{}', { headers: contextHeaders() }));
      const deliveries: (Seen & { redelivered: boolean })[] = [];
      const handle = jetstreamHandler(
        (m) => {
          deliveries.push({ ...seen(), redelivered: m.redelivered });
          if (m.redelivered) m.ack();
          else m.nak(); // fails once: JetStream delivers it again
        },
        { trust: 'internal' },
      );
      const messages = await (await conn.jetstream().consumers.get('ORDERS', 'ship')).consume();
      for await (const m of messages) {
        await handle(m);
        if (deliveries.length === 2) break;
      }
      messages.stop(); // breaking out of the loop ended the iteration; this releases the pull
      expect(deliveries.map((d) => d.redelivered)).toEqual([false, true]);
      for (const d of deliveries) {
        expect(d).toMatchObject({ traceId: TRACE, requestId: producer.requestId, userId: 'alice', tenant: 'acme' });
        expect(d.deadline).toBeUndefined();
      }
      producer.end();
    } finally {
      await conn.close();
      await js.stop();
    }
  });
});
