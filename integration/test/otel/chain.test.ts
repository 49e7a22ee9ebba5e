import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hopClient } from './fixtures/hop.ts';
import type { Role, Seen, SpanRecord } from './fixtures/protocol.ts';
import { type Chain, type ChainProcess, startChain } from './harness.ts';

// A Fastify gateway (@ctxkit/fastify) → gRPC service B → gRPC service C (@ctxkit/grpc), each its
// own process; with the OpenTelemetry SDK (http + grpc instrumentations, in-memory exporter,
// ctxkitPropagator(), enableOpenTelemetry()) in every hop, or in B only.

const SERVER = 1;
const CLIENT = 2;
const W3C_ID = /^[0-9a-f]{32}$/;
const ROLES: readonly Role[] = ['gateway', 'b', 'c'];

interface Hop {
  readonly seen: Seen[];
  readonly spans: SpanRecord[];
}
type Hops = Record<Role, Hop>;

/** One GET /chain through the gateway. */
async function get(chain: Chain, headers: Record<string, string> = {}): Promise<{ traceId: string; path: unknown }> {
  const res = await fetch(`${chain.url}/chain`, { headers, signal: AbortSignal.timeout(10_000) });
  expect(res.status).toBe(200);
  const traceId = res.headers.get('trace-id');
  expect(traceId).not.toBeNull();
  return { traceId: traceId!, path: ((await res.json()) as { path: unknown }).path };
}

/** What every hop recorded since the last collection; waits (bounded) for `spans[role]` spans. */
async function collect(chain: Chain, spans: Readonly<Record<Role, number>>): Promise<Hops> {
  const take = (p: ChainProcess) => p.collect(spans[p.role]);
  const [gateway, b, c] = await Promise.all([take(chain.gateway), take(chain.b), take(chain.c)]);
  return { gateway, b, c };
}

/** The one thing a hop saw. */
function seenAt(hop: Hop): Seen {
  expect(hop.seen).toHaveLength(1);
  return hop.seen[0]!;
}

/** The one span of `kind` a hop finished. */
function spanOf(hop: Hop, kind: number): SpanRecord {
  const found = hop.spans.filter((s) => s.kind === kind);
  expect(found, `one span of kind ${kind} in ${JSON.stringify(hop.spans.map((s) => s.name))}`).toHaveLength(1);
  return found[0]!;
}

describe('the SDK in every hop', () => {
  const PER_REQUEST = { gateway: 2, b: 2, c: 1 } as const; // http server + grpc client; server + client; server
  let chain: Chain;

  beforeAll(async () => {
    chain = await startChain({ gateway: true, b: true, c: true });
  });
  afterAll(async () => {
    await chain?.stop();
  });

  it("makes one trace whose id is ctxkit's trace id in every hop and in the reply header, with parent links", async () => {
    const { traceId, path } = await get(chain, { authorization: 'Bearer u-42' });
    expect(path).toEqual(['gateway', 'b', 'c']);
    expect(traceId).toMatch(W3C_ID);
    const hops = await collect(chain, PER_REQUEST);
    expect([chain.gateway.otel, chain.b.otel, chain.c.otel]).toEqual([true, true, true]);

    for (const role of ROLES) {
      const seen = seenAt(hops[role]);
      expect(seen.traceId, role).toBe(traceId);
      expect(seen.activeTraceId, role).toBe(traceId);
      expect(hops[role].spans).toHaveLength(PER_REQUEST[role]);
      for (const span of hops[role].spans) expect(span.traceId, `${role} ${span.name}`).toBe(traceId);
    }

    const gatewayServer = spanOf(hops.gateway, SERVER);
    const gatewayClient = spanOf(hops.gateway, CLIENT);
    const bServer = spanOf(hops.b, SERVER);
    const bClient = spanOf(hops.b, CLIENT);
    const cServer = spanOf(hops.c, SERVER);
    expect(gatewayServer.scope).toBe('@opentelemetry/instrumentation-http');
    expect(gatewayServer.parentSpanId).toBeUndefined(); // the client sent no trace: a root span
    expect(gatewayClient.parentSpanId).toBe(gatewayServer.spanId);
    expect(bServer.parentSpanId).toBe(gatewayClient.spanId);
    expect(bClient.parentSpanId).toBe(bServer.spanId);
    expect(cServer.parentSpanId).toBe(bClient.spanId);
    for (const span of [gatewayClient, bServer, bClient, cServer]) expect(span.scope).toBe('@opentelemetry/instrumentation-grpc');

    // On the wire: the SDK's traceparent names the calling span, ctxkit's trace-id the same trace.
    expect(seenAt(hops.b).received).toMatchObject({ traceparent: `00-${traceId}-${gatewayClient.spanId}-01`, 'trace-id': traceId });
    expect(seenAt(hops.c).received).toMatchObject({ traceparent: `00-${traceId}-${bClient.spanId}-01`, 'trace-id': traceId });
    // Ids agree, so nothing extra is recorded.
    expect(gatewayServer.attributes).not.toHaveProperty('ctxkit.trace_id');
  });

  it.each([
    ['no trace from the client', {}],
    ["a client's traceparent and tracestate", { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', tracestate: 'vendor=opaque' }],
  ])('with the grpc instrumentation on, each gRPC call carries one traceparent, its client span, and one tracestate at most (%s)', async (_case, headers: Record<string, string>) => {
    const { traceId } = await get(chain, headers);
    const hops = await collect(chain, PER_REQUEST);
    // The raw metadata values, not the first one: the instrumentation and ctxkit both inject.
    const calls = [
      { at: seenAt(hops.b), client: spanOf(hops.gateway, CLIENT) },
      { at: seenAt(hops.c), client: spanOf(hops.b, CLIENT) },
    ];
    for (const { at, client } of calls) {
      expect(at.wire!.traceparent, at.role).toEqual([`00-${traceId}-${client.spanId}-01`]);
      expect(client.traceId).toBe(traceId);
      expect(at.wire!.tracestate.length, at.role).toBeLessThanOrEqual(1);
      if (headers.tracestate !== undefined) expect(at.wire!.tracestate, at.role).toEqual([headers.tracestate]);
      else expect(at.wire!.tracestate, at.role).toEqual([]);
    }
  });

  it('records the user id as enduser.id on the edge span and carries it to every hop', async () => {
    await get(chain, { authorization: 'Bearer u-42' });
    const hops = await collect(chain, PER_REQUEST);
    expect(spanOf(hops.gateway, SERVER).attributes['enduser.id']).toBe('u-42');
    for (const role of ROLES) expect(seenAt(hops[role]).userId, role).toBe('u-42');
  });

  it('gRPC server spans get enduser.id too (ctxkitSpanProcessor)', async () => {
    // The gRPC server side builds the context before the grpc instrumentation starts its span;
    // the span processor records the ids as the span starts.
    await get(chain, { authorization: 'Bearer u-42' });
    const hops = await collect(chain, PER_REQUEST);
    expect(spanOf(hops.b, SERVER).attributes['enduser.id']).toBe('u-42');
    expect(spanOf(hops.c, SERVER).attributes['enduser.id']).toBe('u-42');
    expect(seenAt(hops.b).userId).toBe('u-42');
  });

  it.each(['trace-id', 'x-request-id'])('a request with only a legacy 32-hex %s joins that trace, not sampled', async (header) => {
    const legacy = header === 'trace-id' ? '4bf92f3577b34da6a3ce929d0e0e4736' : '0af7651916cd43dd8448eb211c80319c';
    const { traceId } = await get(chain, { [header]: legacy });
    expect(traceId).toBe(legacy);
    const hops = await collect(chain, { gateway: 0, b: 0, c: 0 });
    for (const role of ROLES) {
      expect(seenAt(hops[role]).traceId, role).toBe(legacy);
      expect(seenAt(hops[role]).activeTraceId, role).toBe(legacy);
      // A header alone never makes the SDK record: the default sampler drops unsampled parents.
      expect(hops[role].spans, role).toEqual([]);
    }
    expect(seenAt(hops.b).received.traceparent).toMatch(new RegExp(`^00-${legacy}-[0-9a-f]{16}-00$`));
  });

  it('a non-hex legacy x-request-id is kept beside the W3C id and recorded on the span as ctxkit.legacy_trace_id', async () => {
    const { traceId } = await get(chain, { 'x-request-id': 'legacy-42' });
    expect(traceId).toMatch(W3C_ID);
    const hops = await collect(chain, PER_REQUEST);
    const edge = spanOf(hops.gateway, SERVER);
    expect(edge.traceId).toBe(traceId);
    expect(edge.parentSpanId).toBeUndefined();
    expect(edge.attributes['ctxkit.legacy_trace_id']).toBe('legacy-42');
    expect(edge.attributes).not.toHaveProperty('ctxkit.trace_id');
    // One trace across the processes. A client's x-request-id stays at the edge (it is the
    // request id's header, forwarded from a trusted proxy only).
    for (const role of ROLES) {
      expect(seenAt(hops[role]).traceId, role).toBe(traceId);
      for (const span of hops[role].spans) expect(span.traceId, `${role} ${span.name}`).toBe(traceId);
    }
    expect(seenAt(hops.b).metadata['x-request-id']).toBeUndefined();
    expect(spanOf(hops.c, SERVER).parentSpanId).toBe(spanOf(hops.b, CLIENT).spanId);
  });

  it('untrusted baggage and ids from a client do not reach the context or any hop', async () => {
    const hostile = {
      baggage: 'user-id=evil,tenant-id=acme',
      'user-id': 'evil',
      'tenant-id': 'acme',
    };
    await get(chain, hostile);
    let hops = await collect(chain, PER_REQUEST);
    expect(seenAt(hops.gateway).received.baggage).toBe(hostile.baggage); // it did arrive
    for (const role of ROLES) {
      const seen = seenAt(hops[role]);
      expect(seen.userId, role).toBeUndefined();
      expect(seen.metadata, role).not.toHaveProperty('user-id');
      expect(seen.metadata, role).not.toHaveProperty('tenant-id');
      for (const span of hops[role].spans) expect(JSON.stringify(span.attributes)).not.toMatch(/evil|acme/);
    }
    expect(seenAt(hops.b).received.baggage).toBeUndefined();
    expect(seenAt(hops.c).received.baggage).toBeUndefined();

    // With a user authenticated at the edge, the baggage that leaves is ctxkit's, not the client's.
    await get(chain, { ...hostile, authorization: 'Bearer u-42' });
    hops = await collect(chain, PER_REQUEST);
    expect(seenAt(hops.gateway).metadata).not.toHaveProperty('tenant-id');
    expect(seenAt(hops.b).received.baggage).toBe('user-id=u-42');
    expect(seenAt(hops.b).userId).toBe('u-42');
    expect(seenAt(hops.c).metadata).not.toHaveProperty('tenant-id');
  });

  it('keeps concurrent requests apart: each hop sees each trace with its own user', async () => {
    const ids = Array.from({ length: 6 }, (_, i) => `${(i + 1).toString(16).repeat(2)}${'0'.repeat(29)}${i + 1}`);
    const users = new Map(ids.map((id, i) => [id, `u-${i}`]));
    const replies = await Promise.all(
      ids.map((id) => get(chain, { traceparent: `00-${id}-b7ad6b7169203331-01`, authorization: `Bearer ${users.get(id)}` })),
    );
    expect(replies.map((r) => r.traceId)).toEqual(ids);
    const hops = await collect(chain, { gateway: 12, b: 12, c: 6 });
    for (const role of ROLES) {
      expect(hops[role].seen.map((s) => s.traceId).sort(), role).toEqual([...ids].sort());
      for (const seen of hops[role].seen) {
        expect(seen.activeTraceId).toBe(seen.traceId);
        expect(seen.userId).toBe(users.get(seen.traceId));
      }
    }
    for (const id of ids) {
      const server = hops.gateway.spans.find((s) => s.kind === SERVER && s.traceId === id);
      expect(server?.attributes['enduser.id']).toBe(users.get(id));
      const bServer = hops.b.spans.find((s) => s.kind === SERVER && s.traceId === id)!;
      const gatewayClient = hops.gateway.spans.find((s) => s.kind === CLIENT && s.traceId === id)!;
      expect(bServer.parentSpanId).toBe(gatewayClient.spanId);
    }
  });

  it('a gRPC call that arrives with no ids gets one trace id: the span joins ctxkit', async () => {
    // A plain gRPC client (no ctxkit, no SDK) calls B directly. ctxkit's server side runs before
    // the grpc instrumentation starts the span and makes a new id; ctxkitPropagator makes the
    // span join that id, so B's ctxkit id, B's span and C agree.
    const client = hopClient(`127.0.0.1:${chain.b.port}`, true);
    try {
      await client.call({ note: 'direct' }, new grpc.Metadata());
    } finally {
      client.close();
    }
    const hops = await collect(chain, { gateway: 0, b: 2, c: 1 });
    const b = seenAt(hops.b);
    const bServer = spanOf(hops.b, SERVER);
    expect(b.traceId).toMatch(W3C_ID);
    expect(bServer.traceId).toBe(b.traceId);
    expect(seenAt(hops.c).traceId).toBe(b.traceId);
  });
});

describe('the SDK in B only', () => {
  const PER_REQUEST = { gateway: 0, b: 2, c: 0 } as const;
  let chain: Chain;

  beforeAll(async () => {
    chain = await startChain({ gateway: false, b: true, c: false });
  });
  afterAll(async () => {
    await chain?.stop();
  });

  it('still yields one id end to end: B joins the traceparent the gateway started, unsampled, and C continues it', async () => {
    const { traceId } = await get(chain, { authorization: 'Bearer u-7' });
    expect(traceId).toMatch(W3C_ID);
    const hops = await collect(chain, { gateway: 0, b: 0, c: 0 });
    expect([chain.gateway.otel, chain.b.otel, chain.c.otel]).toEqual([false, true, false]);
    for (const role of ROLES) {
      expect(seenAt(hops[role]).traceId, role).toBe(traceId);
      expect(seenAt(hops[role]).userId, role).toBe('u-7');
      // ctxkit started the trace and records nothing: not sampled, so the SDK records nothing.
      expect(hops[role].spans, role).toEqual([]);
    }
    expect(seenAt(hops.gateway).activeTraceId).toBeUndefined();
    expect(seenAt(hops.b).activeTraceId).toBe(traceId);
    // The gateway started a traceparent (random flag, not sampled); B's span took a new parent
    // id for C and kept the random flag.
    const started = seenAt(hops.b).received.traceparent!;
    expect(started).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-02$`));
    const fromB = seenAt(hops.c).received.traceparent!;
    expect(fromB).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-02$`));
    expect(fromB).not.toBe(started);
    expect(seenAt(hops.c).received['trace-id']).toBe(traceId);
  });

  it("a client's traceparent passes through the gateway without the SDK and parents B's span", async () => {
    const traceId = '0af7651916cd43dd8448eb211c80319c';
    const clientSpan = 'b7ad6b7169203331';
    const reply = await get(chain, { traceparent: `00-${traceId}-${clientSpan}-01` });
    expect(reply.traceId).toBe(traceId);
    const hops = await collect(chain, PER_REQUEST);
    for (const role of ROLES) expect(seenAt(hops[role]).traceId, role).toBe(traceId);
    const bServer = spanOf(hops.b, SERVER);
    expect(bServer.traceId).toBe(traceId);
    expect(bServer.parentSpanId).toBe(clientSpan);
    expect(seenAt(hops.c).received.traceparent).toBe(`00-${traceId}-${spanOf(hops.b, CLIENT).spanId}-01`);
  });
});
