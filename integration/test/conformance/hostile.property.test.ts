/**
 * Property-based hostile input against real servers: Fastify and Express edges, a grpc-js hop
 * (also driven by a raw HTTP/2 client with arbitrary metadata) and an Express hop behind it.
 * Every request is served or cleanly refused; nothing invalid is forwarded or echoed; every log
 * line is JSON; concurrent requests never see each other's context.
 */
import { connect } from 'node:http2';
import { defineKey } from '@ctxkit/core';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { child, valuesOf } from './support/chain.ts';
import type { Plan, Report } from './support/hop-service.ts';
import { type Hop, startExpressHop, startFastifyHop, startGrpcHop } from './support/hops.ts';
import { captureLogger } from './support/log-capture.ts';
import { type RawHeader, rawRequest } from './support/raw-http.ts';

defineKey('tenant-id');
const capture = captureLogger();
let grpc: Hop;
let inner: Hop;
let edges: Hop[];
let plan: Plan;

beforeAll(async () => {
  inner = await startExpressHop('express', { trust: 'internal', log: capture.log });
  grpc = await startGrpcHop('grpc', { log: capture.log });
  edges = [await startFastifyHop('edge-fastify', { log: capture.log }), await startExpressHop('edge-express', { trust: 'edge', log: capture.log })];
  plan = { calls: [{ kind: 'grpc', target: grpc.target, plan: { calls: [{ kind: 'http', target: inner.target }] } }] };
});
afterAll(async () => {
  for (const hop of [...edges, grpc, inner]) await hop.close();
});

const SAFE_ID = /^[\x21-\x2b\x2d-\x7e]{1,128}$/;
const TRACEPARENT = /^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;
const GRPC_OWN = new Set(['user-agent', 'grpc-accept-encoding', 'content-type', 'te', 'grpc-timeout']);
const HTTP_OWN = new Set(['host', 'connection', 'content-type', 'content-length', 'accept', 'accept-language', 'sec-fetch-mode', 'user-agent', 'accept-encoding', 'request-timeout-ms']);
// x-request-id: a legacy trace id that is not W3C, validated, travels beside the W3C one.
const CONTEXT_KEYS = new Set(['trace-id', 'request-id', 'traceparent', 'tracestate', 'user-id', 'tenant-id', 'x-request-id']);

/** Everything a downstream hop received beyond transport headers is a valid context entry. */
function expectClean(hop: Report, own: ReadonlySet<string>, edge: boolean): void {
  for (const [k, v] of hop.received) {
    if (own.has(k)) continue;
    expect(CONTEXT_KEYS.has(k), `${hop.service} received ${k}`).toBe(true);
    if (edge) expect(['user-id', 'tenant-id']).not.toContain(k);
    if (k === 'traceparent') expect(v).toMatch(TRACEPARENT);
    else if (k === 'tracestate') expect(v.length).toBeLessThanOrEqual(512);
    else expect(v).toMatch(k === 'tenant-id' ? /^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$/ : SAFE_ID);
  }
  for (const key of CONTEXT_KEYS) expect(valuesOf(hop, key).length, key).toBeLessThanOrEqual(1);
}

/** A downstream call that ran out of a short client budget: only legal with a timeout header. */
function deadlineFailed(report: Report, hs: readonly (readonly [string, Buffer])[]): boolean {
  const failed = report.children[0] as { error?: { code: number | string } } | undefined;
  if (failed?.error === undefined) return false;
  expect(hs.some(([k]) => k === 'request-timeout-ms')).toBe(true);
  expect([4, 'DEADLINE_EXCEEDED']).toContain(failed.error.code);
  return true;
}

const hex = (n: number) => fc.stringMatching(new RegExp(`^[0-9a-f]{${n}}$`));
const traceparentLike = fc.oneof(
  fc.tuple(fc.constantFrom('00', '01', 'cc', 'ff', 'FF', '0'), hex(32), hex(16), fc.constantFrom('00', '01', '03', 'ff', 'x'), fc.constantFrom('', '-x', '.', ' ')).map(([v, t, p, f, s]) => `${v}-${t}-${p}-${f}${s}`),
  fc.string(),
);
const interesting = fc.constantFrom(
  'trace-id', 'x-request-id', 'traceparent', 'tracestate', 'baggage', 'user-id', 'tenant-id', 'request-id',
  'request-timeout-ms', 'grpc-timeout', 'grpc-status', 'grpc-encoding', 'te', 'keep-alive', 'proxy-connection', 'upgrade',
  'authorization', 'cookie', 'x-forwarded-for', 'x-thing-bin', 'forwarded',
);
const headerName = fc.oneof(interesting, interesting, fc.stringMatching(/^[a-z][a-z0-9-]{0,15}$/));
// Bytes a header value may carry on the wire, short of CR and LF (which end the field).
const valueBytes = fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b.filter((x) => x !== 10 && x !== 13)));
const headerValue = fc.oneof(
  traceparentLike.map((s) => Buffer.from(s, 'latin1')),
  fc.string({ unit: fc.constantFrom('a', 'Z', '0', '9', '-', ',', ';', '=', '%', ' ', '\t', '"', 'é', 'ü', '\u0000', '\u007f', '@', '*', '/'), maxLength: 140 }).map((s) =>
    Buffer.from(s, 'utf8'),
  ),
  hex(32).map((s) => Buffer.from(s)),
  valueBytes,
);
const headers = fc.array(fc.tuple(headerName, headerValue), { maxLength: 12 });

describe('hostile HTTP headers at the edges', () => {
  it('are served (200) or refused by Node (400, 431); nothing invalid is echoed or forwarded', async () => {
    await fc.assert(
      fc.asyncProperty(headers, fc.constantFrom(0, 1), async (hs, which) => {
        const edge = edges[which]!;
        const res = await rawRequest(edge.port, { headers: hs as RawHeader[], body: JSON.stringify(plan) });
        expect([200, 400, 431, 504]).toContain(res.status);
        // A client timeout the budget cannot meet (e.g. 0) is a clean 504.
        if (res.status === 504) expect(JSON.parse(res.body)).toMatchObject({ code: 'DEADLINE_EXCEEDED' });
        if (res.status !== 200) return;
        for (const [k, v] of res.headers) if (k === 'trace-id' || k === 'request-id') expect(v).toMatch(SAFE_ID);
        const report = JSON.parse(res.body) as Report;
        expect(report.ctx.userId).toBeNull();
        if (deadlineFailed(report, hs)) return;
        const g = child(report);
        if (deadlineFailed(g, hs)) return;
        expectClean(g, GRPC_OWN, true);
        const e = child(g);
        expectClean(e, HTTP_OWN, true);
        for (const hop of [g, e]) expect(hop.ctx.traceId).toBe(report.ctx.traceId);
      }),
      { numRuns: 400 },
    );
    for (const line of capture.lines()) expect(() => JSON.parse(line)).not.toThrow();
  });
});

describe('concurrent requests', () => {
  it('never see each other’s context, in replies, downstream calls or log lines', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.tuple(hex(32), fc.integer({ min: 0, max: 15 }), fc.constantFrom(0, 1)), { minLength: 4, maxLength: 24, selector: ([id]) => id }),
        async (requests) => {
          const ids = requests.map(([id]) => id).filter((id) => !/^0+$/.test(id));
          const before = capture.lines().length;
          const reports = await Promise.all(
            requests
              .filter(([id]) => ids.includes(id))
              .map(async ([id, workMs, which]) => {
                const p: Plan = { calls: [{ kind: 'grpc', target: grpc.target, plan: { workMs, calls: [{ kind: 'http', target: inner.target }] } }] };
                const res = await rawRequest(edges[which]!.port, { headers: [['trace-id', id]], body: JSON.stringify(p) });
                return [id, res.header('trace-id'), JSON.parse(res.body) as Report] as const;
              }),
          );
          for (const [id, echoed, report] of reports) {
            expect(echoed).toBe(id);
            const g = child(report);
            for (const hop of [report, g, child(g)]) expect(hop.ctx.traceId).toBe(id);
            expect(valuesOf(g, 'trace-id')).toEqual([id]);
            expect(g.ctx.requestId).toBe(report.ctx.requestId);
          }
          // Each request logged start and end at three hops, all with its own ids.
          const hopLines = capture.parsed().slice(before).filter((l) => typeof l['hop'] === 'string');
          const perTrace = new Map<string, number>();
          for (const l of hopLines) perTrace.set(l['trace-id'] as string, (perTrace.get(l['trace-id'] as string) ?? 0) + 1);
          for (const id of ids) expect(perTrace.get(id), id).toBe(6);
          expect([...perTrace.keys()].sort()).toEqual([...ids].sort());
        },
      ),
      { numRuns: 30 },
    );
  });
});

/** One unary call over a raw HTTP/2 stream, with arbitrary metadata. */
function rawGrpcCall(port: number, metadata: Record<string, string>, message: unknown): Promise<{ status: string | undefined; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const session = connect(`http://127.0.0.1:${port}`);
    session.on('error', reject);
    const timer = setTimeout(() => {
      session.destroy();
      reject(new Error('raw gRPC call did not end within 5 s'));
    }, 5000);
    let stream: ReturnType<typeof session.request>;
    try {
      stream = session.request({
        ':method': 'POST',
        ':path': '/ctxkit.test.Hop/Call',
        'content-type': 'application/grpc',
        te: 'trailers',
        ...metadata,
      });
    } catch (error) {
      clearTimeout(timer);
      session.destroy();
      reject(error);
      return;
    }
    const json = Buffer.from(JSON.stringify(message));
    const frame = Buffer.alloc(5 + json.length);
    frame.writeUInt32BE(json.length, 1);
    json.copy(frame, 5);
    const chunks: Buffer[] = [];
    let status: string | undefined;
    stream.on('response', (h) => {
      if (h['grpc-status'] !== undefined) status = String(h['grpc-status']);
    });
    stream.on('trailers', (h) => {
      status = String(h['grpc-status']);
    });
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('error', () => {});
    stream.on('close', () => {
      clearTimeout(timer);
      session.close();
      resolve({ status, body: Buffer.concat(chunks) });
    });
    stream.end(frame);
  });
}

describe('hostile gRPC metadata from a raw HTTP/2 client', () => {
  const mdName = fc.oneof(
    fc.constantFrom('trace-id', 'traceparent', 'tracestate', 'user-id', 'tenant-id', 'request-id', 'grpc-timeout', 'grpc-encoding', 'x-a-bin', 'baggage'),
    fc.stringMatching(/^[a-z][a-z0-9._-]{0,15}$/),
  );
  const mdValue = fc.oneof(fc.string({ maxLength: 120 }), traceparentLike, hex(32), fc.stringMatching(/^\d{1,10}[HMSmunx]?$/));
  it('calls end with OK, or a clean status for a grpc-timeout grpc-js refuses; the next hop gets valid values only', async () => {
    await fc.assert(
      fc.asyncProperty(fc.dictionary(mdName, mdValue, { maxKeys: 10 }), async (md) => {
        const forbidden = ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'host', 'te'];
        for (const k of forbidden) delete md[k];
        let result: Awaited<ReturnType<typeof rawGrpcCall>>;
        try {
          result = await rawGrpcCall(grpc.port, md, { calls: [{ kind: 'http', target: inner.target }] });
        } catch (error) {
          // Node's HTTP/2 client refuses to send some values (ERR_HTTP2_INVALID_HEADER_VALUE…).
          if ((error as { code?: string }).code?.startsWith('ERR_HTTP2_INVALID') || (error as { code?: string }).code === 'ERR_INVALID_CHAR') return;
          throw error;
        }
        if (result.status !== '0') {
          // grpc-js answers an unreadable or wrapped grpc-timeout itself (INTERNAL, DEADLINE_EXCEEDED).
          expect('grpc-timeout' in md, `status ${result.status} for ${JSON.stringify(md)}`).toBe(true);
          expect(['4', '13']).toContain(result.status);
          return;
        }
        const report = JSON.parse(result.body.subarray(5).toString('utf8')) as Report;
        // A budget of ~0 fails the next call before it is sent (DEADLINE_EXCEEDED), cleanly.
        if (deadlineFailed(report, 'grpc-timeout' in md ? [['request-timeout-ms', Buffer.alloc(0)]] : [])) return;
        const next = child(report);
        expectClean(next, HTTP_OWN, false);
        expect(next.ctx.traceId).toBe(report.ctx.traceId);
      }),
      { numRuns: 400 },
    );
    for (const line of capture.lines()) expect(() => JSON.parse(line)).not.toThrow();
  });
});
