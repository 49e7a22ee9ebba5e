/**
 * HTTP field values (RFC 9110 §5.5) as Node delivers them, and what ctxkit echoes or forwards:
 * duplicates joined with ", ", oversized header blocks (431), bytes outside ASCII, control
 * characters, and error bodies.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Chain, child, startChain, valuesOf } from './support/chain.ts';
import type { Report } from './support/hop-service.ts';
import { captureLogger } from './support/log-capture.ts';
import { type RawHeader, rawRequest } from './support/raw-http.ts';

const capture = captureLogger();
let chain: Chain;
beforeAll(async () => {
  chain = await startChain(capture.log);
});
afterAll(async () => {
  await chain.close();
});

const NEW_ID = /^[0-9a-f]{32}$/;
// An echoed value: visible ASCII only (RFC 9110 field-vchar minus obs-text), no space or comma.
const SAFE = /^[\x21-\x2b\x2d-\x7e]{1,128}$/;

async function post(headers: readonly RawHeader[]) {
  const res = await rawRequest(chain.edge.port, { headers, body: JSON.stringify(chain.plan) });
  return { res, edge: res.status === 200 ? (JSON.parse(res.body) as Report) : undefined };
}

describe('duplicate headers (Node joins them with ", ")', () => {
  it.each(['trace-id', 'x-request-id'])('two %s headers are ambiguous: dropped, a new trace id is made', async (name) => {
    const { res, edge } = await post([[name, 'abc123'], [name, 'def456']]);
    expect(res.status).toBe(200);
    expect(edge!.ctx.traceId).toMatch(NEW_ID);
    expect(res.header('trace-id')).toBe(edge!.ctx.traceId);
    expect(valuesOf(child(edge!), 'trace-id')).toEqual([edge!.ctx.traceId]);
  });

  it('a single legacy id is kept beside a W3C trace id: a trace-id forwarded unchanged, a client x-request-id not', async () => {
    const { res, edge } = await post([['x-request-id', 'legacy-42']]);
    expect(edge!.ctx.traceId).toMatch(NEW_ID);
    expect(res.header('trace-id')).toBe(edge!.ctx.traceId);
    expect(valuesOf(child(edge!), 'trace-id')).toEqual([edge!.ctx.traceId]);
    // x-request-id is the request id's header: forwarded from a trusted proxy only.
    expect(valuesOf(child(edge!), 'x-request-id')).toEqual([]);
    const old = await post([['trace-id', 'legacy-42']]);
    expect(old.edge!.ctx.traceId).toMatch(NEW_ID);
    expect(valuesOf(child(old.edge!), 'trace-id')).toEqual(['legacy-42']);
    expect(valuesOf(child(old.edge!), 'traceparent')[0]).toMatch(new RegExp(`^00-${old.edge!.ctx.traceId}-[0-9a-f]{16}-02$`));
  });
});

describe('bytes that are not ASCII', () => {
  it.each([
    ['latin1 é (obs-text)', Buffer.from([0x61, 0xe9, 0x62])],
    ['UTF-8 ü', Buffer.from('aü', 'utf8')],
    ['a value of 129 visible characters', Buffer.from('a'.repeat(129))],
    ['inner space', Buffer.from('a b')],
  ])('a trace id with %s is dropped, never echoed or forwarded', async (_name, bytes) => {
    const { res, edge } = await post([['trace-id', bytes]]);
    expect(res.status).toBe(200);
    expect(edge!.ctx.traceId).toMatch(NEW_ID);
    for (const [k, v] of res.headers) if (k === 'trace-id' || k === 'request-id') expect(v).toMatch(SAFE);
    const grpc = child(edge!);
    expect(valuesOf(grpc, 'trace-id')).toEqual([edge!.ctx.traceId]);
  });

  it.each([
    ['NUL', Buffer.from([0x61, 0x00, 0x62])],
    ['a bare CR', Buffer.from([0x61, 0x0d, 0x62])],
    ['DEL', Buffer.from([0x61, 0x7f, 0x62])],
  ])('a control character (%s) in a field value is refused by Node with 400; the server goes on', async (_name, bytes) => {
    const { res } = await post([['trace-id', bytes]]);
    expect(res.status).toBe(400);
    expect((await post([])).res.status).toBe(200);
  });

  it('a CR LF in a value cannot add a header: it ends the field, and ctxkit never echoes the rest', async () => {
    const { res, edge } = await post([['trace-id', 'abc\r\nx-injected: 1']]);
    // Node parses "x-injected: 1" as a header of its own; the id "abc" before it is valid.
    expect(res.status).toBe(200);
    expect(res.header('x-injected')).toBeUndefined();
    expect(edge!.ctx.traceId).toMatch(NEW_ID);
    expect(valuesOf(child(edge!), 'trace-id')).toEqual(['abc']); // a legacy id, forwarded as it came
    expect(child(edge!).received.some(([k]) => k === 'x-injected')).toBe(false);
  });
});

describe('header size', () => {
  it('a header block over Node’s 16 KiB limit is answered 431 and the server keeps serving', async () => {
    const { res } = await post([['x-big', 'a'.repeat(20_000)]]);
    expect(res.status).toBe(431);
    expect((await post([])).res.status).toBe(200);
  });
});

describe('replies', () => {
  it('echo only trace-id and request-id, never a request header', async () => {
    const { res, edge } = await post([['x-echo-me', 'nope'], ['authorization', 'Bearer s3cret'], ['user-id', 'mallory']]);
    const names = res.headers.map(([k]) => k);
    for (const name of ['x-echo-me', 'authorization', 'user-id', 'traceparent', 'tracestate', 'baggage']) expect(names).not.toContain(name);
    // (The test hop reports what it received in its body; the next hop got none of it.)
    expect(JSON.stringify(child(edge!).received)).not.toContain('s3cret');
  });

  it('an unexpected error is 500 { code, message, traceId }: no stack, no internal message', async () => {
    const res = await rawRequest(chain.edge.port, { body: JSON.stringify({ fail: 'db password is hunter2' }) });
    expect(res.status).toBe(500);
    const body = JSON.parse(res.body) as Record<string, unknown>;
    expect(body).toEqual({ code: 'INTERNAL', message: 'internal error', traceId: res.header('trace-id') });
    expect(res.body).not.toContain('hunter2');
    // The original is logged with the request's ids.
    const line = capture.parsed().find((l) => JSON.stringify(l).includes('hunter2'));
    expect(line?.['trace-id']).toBe(res.header('trace-id'));
  });

  it('a gRPC hop failing unexpectedly reaches the caller as INTERNAL with a generic message', async () => {
    const plan = { calls: [{ kind: 'grpc', target: chain.grpc.target, plan: { fail: 'stack of secrets' } }] };
    const res = await rawRequest(chain.edge.port, { body: JSON.stringify(plan) });
    const edge = JSON.parse(res.body) as Report;
    const failed = edge.children[0] as { error: { code: number; message: string } };
    expect(failed.error.code).toBe(13);
    expect(failed.error.message).not.toContain('secrets');
  });
});
