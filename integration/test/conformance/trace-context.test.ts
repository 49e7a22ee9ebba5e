/**
 * W3C Trace Context Level 2 (https://www.w3.org/TR/trace-context-2/), end to end through real
 * servers: edge (Fastify) → gRPC → HTTP, no tracer on, so ctxkit forwards what it received.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Report } from './support/hop-service.ts';
import { type Chain, child, startChain, valuesOf } from './support/chain.ts';
import { type RawHeader, rawRequest } from './support/raw-http.ts';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT = '00f067aa0ba902b7';
const TP = `00-${TRACE}-${PARENT}-01`;

let chain: Chain;
beforeAll(async () => {
  chain = await startChain();
});
afterAll(async () => {
  await chain.close();
});

async function send(headers: readonly RawHeader[]): Promise<{ edge: Report; grpc: Report; http: Report; echoed: string | undefined }> {
  const res = await rawRequest(chain.edge.port, { headers, body: JSON.stringify(chain.plan) });
  expect(res.status).toBe(200);
  const edge = JSON.parse(res.body) as Report;
  const grpc = child(edge);
  return { edge, grpc, http: child(grpc), echoed: res.header('trace-id') };
}

/**
 * Both downstream hops got one traceparent that the edge started for the request's trace: a
 * parent id of its own, the random flag (ctxkit chose the id at random), not sampled; the gRPC
 * hop forwarded it unchanged. No tracestate.
 */
function expectStarted(r: { edge: Report; grpc: Report; http: Report }) {
  const [started] = valuesOf(r.grpc, 'traceparent');
  expect(started).toMatch(new RegExp(`^00-${r.edge.ctx.traceId}-[0-9a-f]{16}-02$`));
  expect(started!.slice(36, 52)).not.toBe('0'.repeat(16));
  expectForwarded(r, started, undefined);
}

/** Both downstream hops got exactly this traceparent/tracestate (or none), once each. */
function expectForwarded(r: { grpc: Report; http: Report }, traceparent: string | undefined, tracestate: string | undefined) {
  for (const hop of [r.grpc, r.http]) {
    expect(valuesOf(hop, 'traceparent'), hop.service).toEqual(traceparent === undefined ? [] : [traceparent]);
    expect(valuesOf(hop, 'tracestate'), hop.service).toEqual(tracestate === undefined ? [] : [tracestate]);
  }
}

describe('traceparent', () => {
  it('keeps a valid version-00 trace id at every hop and forwards traceparent and tracestate unchanged', async () => {
    const r = await send([['traceparent', TP], ['tracestate', 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7']]);
    for (const hop of [r.edge, r.grpc, r.http]) expect(hop.ctx.traceId).toBe(TRACE);
    expect(r.echoed).toBe(TRACE);
    expectForwarded(r, TP, 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7');
  });

  it('keeps every trace-flags bit as received (sampled, random, unknown)', async () => {
    for (const flags of ['00', '02', '03', 'ff']) {
      const tp = `00-${TRACE}-${PARENT}-${flags}`;
      expectForwarded(await send([['traceparent', tp]]), tp, undefined);
    }
  });

  it('reads a future version as version 00 and forwards it as 00 (fields after the flags ignored)', async () => {
    for (const [given, sent] of [
      [`cc-${TRACE}-${PARENT}-01-what-the-future-holds`, TP],
      [`01-${TRACE}-${PARENT}-02`, `00-${TRACE}-${PARENT}-02`],
      [`fe-${TRACE}-${PARENT}-01-`, TP],
    ] as const) {
      const r = await send([['traceparent', given], ['tracestate', 'a=1']]);
      expect(r.grpc.ctx.traceId, given).toBe(TRACE);
      expectForwarded(r, sent, 'a=1');
    }
  });

  const invalid: readonly [string, string][] = [
    ['version ff', `ff-${TRACE}-${PARENT}-01`],
    ['version 00 with a trailing field', `${TP}-extra`],
    ['future version with a non-dash after the flags', `cc-${TRACE}-${PARENT}-01.extra`],
    ['uppercase hex', `00-${TRACE.toUpperCase()}-${PARENT}-01`],
    ['all-zero trace id', `00-${'0'.repeat(32)}-${PARENT}-01`],
    ['all-zero parent id', `00-${TRACE}-${'0'.repeat(16)}-01`],
    ['short trace id', `00-${TRACE.slice(1)}-${PARENT}-01`],
    ['one-digit flags', `00-${TRACE}-${PARENT}-1`],
    ['non-hex version', `0x-${TRACE}-${PARENT}-01`],
    ['wrong separator', `00_${TRACE}_${PARENT}_01`],
    ['empty', ''],
  ];
  it.each(invalid)('restarts the trace and drops tracestate on an invalid traceparent: %s', async (_name, tp) => {
    const r = await send([['traceparent', tp], ['tracestate', 'congo=t61rcWkgMzE']]);
    expect(r.edge.ctx.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(r.edge.ctx.traceId).not.toBe(TRACE);
    for (const hop of [r.grpc, r.http]) expect(hop.ctx.traceId).toBe(r.edge.ctx.traceId);
    expect(r.echoed).toBe(r.edge.ctx.traceId);
    expectStarted(r);
  });

  it('treats two traceparent headers as invalid (Node joins them with ", "): new trace, no tracestate', async () => {
    const other = `00-${'a'.repeat(32)}-${PARENT}-01`;
    const r = await send([['traceparent', TP], ['traceparent', other], ['tracestate', 'a=1']]);
    expect([TRACE, 'a'.repeat(32)]).not.toContain(r.edge.ctx.traceId);
    expectStarted(r);
  });

  it('ignores a tracestate without a traceparent', async () => {
    const r = await send([['tracestate', 'congo=t61rcWkgMzE']]);
    expectStarted(r);
  });

  it('starts a traceparent when none came: every call carries one', async () => {
    const r = await send([]);
    expect(r.edge.ctx.traceId).toMatch(/^[0-9a-f]{32}$/);
    expectStarted(r);
    for (const hop of [r.grpc, r.http]) expect(hop.ctx.traceId).toBe(r.edge.ctx.traceId);
  });
});

describe('tracestate', () => {
  const tp: RawHeader = ['traceparent', TP];

  it('combines several tracestate header lines in order into one value', async () => {
    const r = await send([tp, ['tracestate', 'a=1,b=2'], ['tracestate', 'c=3'], ['tracestate', 'd=4, e=5']]);
    expectForwarded(r, TP, 'a=1,b=2,c=3,d=4,e=5');
  });

  it('skips empty list members and optional whitespace around members', async () => {
    const r = await send([tp, ['tracestate', ' a=1 ,, \tb=2,']]);
    expectForwarded(r, TP, 'a=1,b=2');
  });

  it('accepts multi-tenant keys and values with inner spaces', async () => {
    const r = await send([tp, ['tracestate', 'tenant@vendor=x y,1ab@z=v']]);
    expectForwarded(r, TP, 'tenant@vendor=x y,1ab@z=v');
  });

  it('accepts 32 members and drops a tracestate of 33 whole (the traceparent stays)', async () => {
    const members = Array.from({ length: 33 }, (_, i) => `k${i}=v`);
    expectForwarded(await send([tp, ['tracestate', members.slice(0, 32).join(',')]]), TP, members.slice(0, 32).join(','));
    const r = await send([tp, ['tracestate', members.join(',')]]);
    expect(r.grpc.ctx.traceId).toBe(TRACE);
    expectForwarded(r, TP, undefined);
  });

  it('counts members across header lines (32 + 1 on two lines is too many)', async () => {
    const members = Array.from({ length: 32 }, (_, i) => `k${i}=v`);
    expectForwarded(await send([tp, ['tracestate', members.join(',')], ['tracestate', 'extra=1']]), TP, undefined);
  });

  it.each([
    ['an uppercase key', 'Abc=1'],
    ['a value with "="', 'a=b=c'],
    ['an empty value', 'a='],
    ['a key of 257 characters', `${'k'.repeat(257)}=1`],
    ['a value ending in a space', 'a=1 ,b=x\u0020\u0020x\u00a0'],
    ['no "="', 'abc'],
  ])('drops the whole tracestate for %s, keeps the trace', async (_name, value) => {
    const r = await send([tp, ['tracestate', value]]);
    expect(r.grpc.ctx.traceId).toBe(TRACE);
    expectForwarded(r, TP, undefined);
  });

  it('keeps the first entry of a duplicate key (the leftmost, most recent) and drops the later ones', async () => {
    expectForwarded(await send([tp, ['tracestate', 'a=1,b=2,a=3']]), TP, 'a=1,b=2');
    expectForwarded(await send([tp, ['tracestate', 'a=1'], ['tracestate', 'a=1']]), TP, 'a=1');
  });

  it('cuts a long tracestate to 512 characters by whole entries, entries over 128 characters first', async () => {
    const long = `big=${'x'.repeat(200)}`;
    const small = Array.from({ length: 20 }, (_, i) => `vendor${String(i).padStart(2, '0')}=${'v'.repeat(16)}`);
    const value = [small[0], long, ...small.slice(1)].join(',');
    const r = await send([tp, ['tracestate', value]]);
    const sent = valuesOf(r.grpc, 'tracestate')[0]!;
    expect(sent.length).toBeLessThanOrEqual(512);
    const entries = sent.split(',');
    expect(entries).not.toContain(long);
    // Whole entries only, in the original order, dropping from the end.
    expect(entries).toEqual(small.slice(0, entries.length));
    expect(entries.length).toBe(Math.floor((512 + 1) / (small[0]!.length + 1)));
    expect(valuesOf(r.http, 'tracestate')).toEqual([sent]);
  });

  it('keeps a tracestate of exactly 512 characters whole', async () => {
    const value = `a=${'x'.repeat(254)},b=${'y'.repeat(253)}`;
    expect(value.length).toBe(512);
    expectForwarded(await send([tp, ['tracestate', value]]), TP, value);
  });
});
