import http2 from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import type { Drop } from '@ctxkit/core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { serverInterceptor, wrapService } from '../src/index.js';
import { type ProbeClient, probeClient, type Req, type Running, type Seen, seen, startServer, unary, within } from './helpers.js';

// Peers that do not use ctxkit send whatever they like; the server drops what is not acceptable,
// says why, and serves the call.
let server: Running;
let plain: ProbeClient;
let drops: Drop[] = [];
let peers: string[] = [];
let lastSeen: Seen | undefined;

beforeAll(async () => {
  server = await startServer(
    wrapService({
      async unary(_call: grpc.ServerUnaryCall<Req, Seen>) {
        lastSeen = seen();
        return lastSeen;
      },
    }),
    { interceptors: [serverInterceptor({
          onDrop: (d, call) => {
            drops.push(d);
            peers.push(call.getPeer());
          },
        })] },
  );
  plain = probeClient(server.target);
});

afterAll(async () => {
  plain.close();
  await server.close();
});

beforeEach(() => {
  drops = [];
  peers = [];
  lastSeen = undefined;
});

/** A gRPC unary call over raw HTTP/2, with headers grpc-js clients would not send. */
async function rawUnary(headers: http2.OutgoingHttpHeaders): Promise<{ status: string | undefined; body: Buffer }> {
  const session = http2.connect(`http://${server.target}`);
  try {
    const req = session.request({
      ':method': 'POST',
      ':path': '/ctxkit.test.Probe/Unary',
      'content-type': 'application/grpc',
      te: 'trailers',
      ...headers,
    });
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    const trailers = new Promise<http2.IncomingHttpHeaders>((resolve) => req.on('trailers', resolve));
    req.end(Buffer.from([0, 0, 0, 0, 0])); // one empty message
    await within(5000, new Promise((resolve) => req.on('end', resolve)), 'the raw response');
    const t = await within(5000, trailers, 'trailers');
    return { status: t['grpc-status'] as string | undefined, body: Buffer.concat(chunks) };
  } finally {
    session.close();
  }
}

describe('bad metadata from a peer', () => {
  it('a 10 KB trace-id is dropped with a reason; the call gets a new trace id and succeeds', async () => {
    const md = new grpc.Metadata();
    md.set('trace-id', 'a'.repeat(10 * 1024));
    const s = await unary(plain, {}, md);
    expect(s.traceId).toMatch(/^[0-9a-f]{32}$/);
    // Reported with the ids of the context the call got, and the call (its peer) as origin.
    expect(drops).toEqual([
      expect.objectContaining({ key: 'trace-id', reason: 'longer than 128 characters', traceId: s.traceId, requestId: s.requestId }),
    ]);
    expect(peers).toEqual([expect.stringMatching(/^(127\.0\.0\.1|\[::1\]|::1):\d+$/)]);
  });

  it('an over-long user-id is dropped with a reason; the call succeeds without it', async () => {
    const md = new grpc.Metadata();
    md.set('user-id', 'u'.repeat(500));
    md.set('tenant-id', 't'.repeat(300));
    const s = await unary(plain, {}, md);
    expect(s.userId).toBe('');
    expect(s.tenant).toBe('');
    expect(drops.map((d) => [d.key, d.reason])).toEqual([
      ['user-id', 'longer than 128 characters'],
      ['tenant-id', 'longer than 256 characters'],
    ]);
  });

  it('a user id sent twice is dropped with a reason', async () => {
    const md = new grpc.Metadata();
    md.add('user-id', 'a');
    md.add('user-id', 'b');
    const s = await unary(plain, {}, md);
    expect(s.userId).toBe('');
    // Node joins repeated headers with ", ", which no id may contain.
    expect(drops.map((d) => [d.key, d.reason])).toEqual([['user-id', 'does not match the key pattern']]);
  });

  it('CR/LF: grpc-js refuses it at the sender; sent raw, the call succeeds and the value is not kept', async () => {
    expect(() => new grpc.Metadata().set('user-id', 'a\r\nx-injected: 1')).toThrow(/illegal characters/);
    // Node's HTTP/2 client sends it; the server's HTTP/2 layer discards the field.
    const raw = await rawUnary({ 'user-id': 'a\r\nb', 'tenant-id': 'x\ny' });
    expect(raw.status).toBe('0');
    expect(lastSeen).toMatchObject({ hasContext: true, userId: '', tenant: '' });
  });

  it('uppercase keys and non-printable values over raw HTTP/2: the call succeeds, nothing bad is kept', async () => {
    const uppercase = await rawUnary({ 'User-Id': 'from-raw', 'Tenant-ID': 'acme' });
    expect(uppercase.status).toBe('0');
    expect(lastSeen).toMatchObject({ userId: 'from-raw', tenant: 'acme' });
    // HTTP/2 header names are lowercase on the wire (RFC 9113 §8.2.1): Node lowercases them, and
    // the values arrive under their lowercase names, valid and trusted like any other.
    const tabbed = await rawUnary({ 'user-id': 'a\tb', 'tenant-id': 'caf\u00e9' });
    expect(tabbed.status).toBe('0');
    // grpc-js drops non-printable values itself (logging why), before ctxkit sees them.
    expect(lastSeen).toMatchObject({ hasContext: true, userId: '', tenant: '' });
  });
});
