/**
 * gRPC over HTTP/2 (https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md) and what
 * grpc-js does with it: reserved and connection-specific headers never cross from HTTP into
 * metadata, deadlines ctxkit sends stay inside what grpc-js can hold, metadata stays bounded.
 */
import { createContext, defineKey, runWithContext } from '@ctxkit/core';
import { clientInterceptor } from '@ctxkit/grpc';
import { Metadata, status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Chain, child, startChain } from './support/chain.ts';
import { hopClient, type Report } from './support/hop-service.ts';
import { rawRequest } from './support/raw-http.ts';

/** Longest delay a Node timer takes (2^31-1 ms). */
const MAX_TIMER_MS = 2 ** 31 - 1;

const DAY = 86_400_000;
const keys = Array.from({ length: 29 }, (_, i) => defineKey(`load-${i}`, { maxLength: 1024 }));
const tenant = defineKey('tenant-id');

let chain: Chain;
beforeAll(async () => {
  chain = await startChain();
});
afterAll(async () => {
  await chain.close();
});

// What grpc-js itself puts on every call (transport, not context).
const GRPC_OWN = new Set(['user-agent', 'grpc-accept-encoding', 'content-type', 'te', 'grpc-timeout']);
// What the fetch wrapper and undici put on every request.
const HTTP_OWN = new Set(['host', 'connection', 'content-type', 'content-length', 'accept', 'accept-language', 'sec-fetch-mode', 'user-agent', 'accept-encoding', 'request-timeout-ms']);

describe('HTTP request headers never become gRPC metadata', () => {
  const hostile: [string, string][] = [
    ['keep-alive', 'timeout=5'],
    ['proxy-connection', 'keep-alive'],
    ['te', 'trailers'],
    ['upgrade', 'h2c'],
    ['grpc-timeout', '1S'],
    ['grpc-status', '3'],
    ['grpc-message', 'injected'],
    ['grpc-encoding', 'gzip'],
    ['grpc-accept-encoding', 'snappy'],
    ['grpc-internal-encoding-request', 'gzip'],
    ['grpc-previous-rpc-attempts', '9'],
    ['grpc-retry-pushback-ms', '0'],
    ['x-custom-bin', 'AAAA'],
    ['content-encoding', 'gzip-never'],
    ['authorization', 'Bearer secret'],
    ['cookie', 'sid=secret'],
    ['x-forwarded-for', '10.0.0.1'],
    ['forwarded', 'for=10.0.0.1'],
    ['user-id', 'mallory'],
    ['tenant-id', 'evil'],
    ['request-id', 'chosen-by-client'],
    ['baggage', 'user-id=mallory,tenant-id=evil'],
  ];

  it('the gRPC hop and the HTTP hop behind it receive ctxkit ids and transport headers only', async () => {
    const res = await rawRequest(chain.edge.port, { headers: hostile, body: JSON.stringify(chain.plan) });
    expect(res.status).toBe(200);
    const edge = JSON.parse(res.body) as Report;
    const grpc = child(edge);
    const http = child(grpc);
    const grpcKeys = grpc.received.map(([k]) => k).filter((k) => !GRPC_OWN.has(k));
    // ctxkit's ids and the traceparent the edge started (one per call: the client sent none).
    expect(grpcKeys.sort()).toEqual(['request-id', 'trace-id', 'traceparent']);
    // grpc-timeout on the call came from grpc-js for a deadline; the edge set none here.
    expect(grpc.received.some(([k]) => k === 'grpc-timeout')).toBe(false);
    expect(grpc.ctx.remainingMs).toBeNull();
    const httpKeys = http.received.map(([k]) => k).filter((k) => !HTTP_OWN.has(k));
    expect(httpKeys.sort()).toEqual(['request-id', 'trace-id', 'traceparent']);
    // The edge took its own request id and no user or custom key from the client.
    for (const hop of [edge, grpc, http]) {
      expect(hop.ctx.requestId).not.toBe('chosen-by-client');
      expect(hop.ctx.userId).toBeNull();
      expect(hop.ctx.metadata[tenant.name]).toBeUndefined();
    }
    expect(res.header('grpc-status')).toBeUndefined();
    expect(res.header('grpc-message')).toBeUndefined();
  });
});

describe('grpc-timeout', () => {
  it('a context deadline years away is sent clamped: the call succeeds and the callee sees ~24.8 days', async () => {
    const client = hopClient(chain.grpc.target, { interceptors: [clientInterceptor()] });
    try {
      for (const deadline of [Date.now() + 30 * DAY, Date.now() + 1e12, 8.64e15]) {
        using ctx = createContext({ deadline });
        const report = await runWithContext(ctx, () => client.call({}));
        expect(report.ctx.remainingMs).toBeGreaterThan(24 * DAY);
        expect(report.ctx.remainingMs).toBeLessThanOrEqual(MAX_TIMER_MS);
      }
    } finally {
      client.close();
    }
  });

  it('the hazard is real: plain grpc-js with a 30-day deadline expires at once on the server', async () => {
    const client = hopClient(chain.grpc.target);
    try {
      // 2592000S * 1000 | 0 wraps negative: the server's deadline is already past on arrival.
      await expect(client.call({ workMs: 20 }, { deadline: Date.now() + 30 * DAY })).rejects.toMatchObject({
        code: status.DEADLINE_EXCEEDED,
      });
    } finally {
      client.close();
    }
  });

  it('a client timeout of ~115 days at the edge reaches the gRPC hop clamped and the HTTP hop as a number', async () => {
    const res = await rawRequest(chain.edge.port, { headers: [['request-timeout-ms', '9999999999']], body: JSON.stringify(chain.plan) });
    expect(res.status).toBe(200);
    const grpc = child(JSON.parse(res.body) as Report);
    expect(grpc.ctx.remainingMs).toBeGreaterThan(24 * DAY);
    const http = child(grpc);
    expect(http.received.find(([k]) => k === 'request-timeout-ms')?.[1]).toMatch(/^\d{10}$/);
  });
});

describe('metadata size and count', () => {
  it('a context at every limit (32 entries, 4096 bytes) crosses gRPC and HTTP intact, far under 8 KiB of HPACK size', async () => {
    const values: Record<string, string> = {};
    // trace-id, request-id and user-id take 3 entries and some bytes: fill the rest to 4096.
    const ctxBase = createContext({ userId: 'u-1' });
    let used = 0;
    for (const [k, v] of ctxBase.metadata) used += k.length + v.length;
    ctxBase.end();
    let left = 4096 - used;
    for (const key of keys) {
      const len = Math.min(1024, left - key.name.length);
      if (len <= 0) break;
      values[key.name] = 'v'.repeat(len);
      left -= key.name.length + len;
    }
    using ctx = createContext({ userId: 'u-1', values });
    expect(ctx.metadata.size).toBeLessThanOrEqual(32);
    const client = hopClient(chain.grpc.target, { interceptors: [clientInterceptor()] });
    try {
      const grpc = await runWithContext(ctx, () => client.call({ calls: [{ kind: 'http', target: chain.http.target }] }));
      // Every key crosses both hops, and the traceparent the call started besides (not counted
      // against the keys' limits).
      const sent = { ...Object.fromEntries(ctx.metadata), traceparent: expect.stringMatching(/^00-[0-9a-f]{32}-[0-9a-f]{16}-02$/) };
      expect(grpc.ctx.metadata).toEqual(sent);
      expect(child(grpc).ctx.metadata).toEqual({ ...sent, traceparent: grpc.ctx.metadata.traceparent });
      const hpack = grpc.received.reduce((n, [k, v]) => n + k.length + v.length + 32, 0);
      expect(hpack).toBeLessThan(8192);
    } finally {
      client.close();
    }
  });

  it('a peer sending more than the limits gets a bounded context, and only that goes on', async () => {
    const md = new Metadata();
    for (const key of keys) md.set(key.name, 'w'.repeat(500));
    for (let i = 0; i < 80; i++) md.set(`junk-${i}`, 'x'.repeat(100));
    const client = hopClient(chain.grpc.target);
    try {
      const grpc = await client.call({ calls: [{ kind: 'http', target: chain.http.target }] }, { metadata: md });
      const entries = Object.entries(grpc.ctx.metadata).filter(([k]) => k !== 'traceparent');
      expect(entries.length).toBeLessThanOrEqual(32);
      expect(entries.reduce((n, [k, v]) => n + k.length + v.length, 0)).toBeLessThanOrEqual(4096);
      const http = child(grpc);
      expect(http.received.some(([k]) => k.startsWith('junk-'))).toBe(false);
      // The gRPC hop received no traceparent: it started one for its call.
      expect(grpc.ctx.metadata.traceparent).toBeUndefined();
      expect(http.ctx.metadata).toEqual({ ...grpc.ctx.metadata, traceparent: expect.stringMatching(/^00-[0-9a-f]{32}-[0-9a-f]{16}-02$/) });
    } finally {
      client.close();
    }
  });

  // Node's http2 accepts at most 128 header pairs per block (maxHeaderListPairs) and answers
  // more with ENHANCE_YOUR_CALM, which grpc-js reports as RESOURCE_EXHAUSTED. ctxkit sends at
  // most 32 entries, so with grpc-js's own headers a call stays far below it.
  it('the transport limit is 128 header pairs: past it grpc-js fails with RESOURCE_EXHAUSTED', async () => {
    const md = new Metadata();
    for (let i = 0; i < 130; i++) md.set(`junk-${i}`, 'x');
    const client = hopClient(chain.grpc.target);
    try {
      await expect(client.call({}, { metadata: md })).rejects.toMatchObject({ code: status.RESOURCE_EXHAUSTED });
      // The server and a fresh call are fine afterwards.
      await expect(client.call({})).resolves.toMatchObject({ service: 'grpc' });
    } finally {
      client.close();
    }
  });
});
