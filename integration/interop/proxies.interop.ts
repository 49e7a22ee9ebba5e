/**
 * A ctxkit Fastify edge behind real nginx and HAProxy (Debian packages), with the configurations
 * of docs/proxies.md: ids, the budget header and the user flow through; a client that hangs up
 * cancels the chain where the proxy forwards the abort. HAProxy forwards it only with
 * `option abortonclose` (or an HTTP/2 stream reset); at its default an HTTP/1.1 client's
 * hang-up never reaches the edge, whose budget is then the only bound.
 */
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect as connectH2 } from 'node:http2';
import { CancelledError, DeadlineExceededError } from '@ctxkit/core';
import type { CtxkitFastifyOptions } from '@ctxkit/fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { hex } from './chains.ts';
import { closeAll, type Edge, type Leaf, startEdge, startLeaf } from './support/chain.ts';
import { haproxyConfig, nginxSite, type ProxyPeer, startHaproxy, startNginx } from './support/proxies.ts';

let leaf: Leaf | undefined;
let edge: Edge | undefined;
let proxy: ProxyPeer | undefined;

afterEach(async () => {
  await closeAll(proxy, edge, leaf);
  leaf = edge = proxy = undefined;
});

/** The proxy on 127.0.0.1 is the edge's trusted peer: its request id is honoured. */
const BEHIND_PROXY: CtxkitFastifyOptions = { trust: { keys: ['request-id'], from: ['127.0.0.1'] } };

async function chain(start: (edgePort: number) => Promise<ProxyPeer>, options: CtxkitFastifyOptions = BEHIND_PROXY) {
  leaf = await startLeaf();
  edge = await startEdge(leaf.target, options);
  proxy = await start(edge.port);
  return proxy.ports;
}

const headers = (traceId: string) => ({
  traceparent: `00-${traceId}-${hex(8)}-01`,
  authorization: 'Bearer carol',
  'request-timeout-ms': '1500',
});

/** A request the client abandons once the leaf has it; resolves with the leaf's abort reason. */
async function hangUp(send: () => { abandon(): void }, budgetMs: number): Promise<{ reason: unknown; afterMs: number }> {
  const arrived = leaf!.nextCall();
  const sent = send();
  await arrived;
  const aborted = leaf!.nextAbort();
  const at = performance.now();
  sent.abandon();
  const reason = await aborted;
  const afterMs = performance.now() - at;
  expect(afterMs).toBeLessThan(budgetMs + 2_000);
  return { reason, afterMs };
}

function h1HangUp(port: number, budgetMs: number) {
  return hangUp(() => {
    const req = request({ host: '127.0.0.1', port, path: '/hop?action=hang', headers: { 'request-timeout-ms': String(budgetMs) } });
    req.on('error', () => {});
    req.end();
    return { abandon: () => req.destroy() };
  }, budgetMs);
}

it('docs/proxies.md ships the configurations these tests run', () => {
  const doc = readFileSync(new URL('../../docs/proxies.md', import.meta.url), 'utf8');
  expect(doc).toContain(`\`\`\`nginx\n${nginxSite(80, 3000)}\`\`\``);
  expect(doc).toContain(`\`\`\`haproxy\n${haproxyConfig(8443, 80, 3000)}\`\`\``);
});

describe('behind nginx (its defaults)', () => {
  it("carries the ids, the budget and the user, and takes nginx's $request_id as the request id", async () => {
    const [port] = await chain(startNginx);
    const traceId = hex(16);
    const res = await fetch(`http://127.0.0.1:${port}/hop?action=ok`, { headers: headers(traceId) });
    expect(res.status).toBe(200);
    const nginxId = res.headers.get('x-request-id');
    expect(nginxId).toMatch(/^[0-9a-f]{32}$/);
    const [atEdge] = edge!.views;
    const [atLeaf] = leaf!.views;
    expect(atEdge).toMatchObject({ traceId, requestId: nginxId, userId: 'carol' });
    expect(atEdge!.remainingMs).toBeLessThanOrEqual(1500);
    expect(atLeaf).toMatchObject({ traceId, requestId: nginxId, userId: 'carol' });
    // …and its x-request-id travels on unchanged, as Istio asks of applications.
    expect(atLeaf!.metadata.get('x-request-id')).toBe(nginxId);
    expect(atLeaf!.remainingMs).toBeLessThan(atEdge!.remainingMs + 1);
  });

  it("does not take nginx's id from a proxy the edge does not trust", async () => {
    const [port] = await chain(startNginx, {});
    const res = await fetch(`http://127.0.0.1:${port}/hop?action=ok`, { headers: headers(hex(16)) });
    expect(res.status).toBe(200);
    expect(edge!.views[0]!.requestId).not.toBe(res.headers.get('x-request-id'));
    expect(leaf!.views[0]!.requestId).toBe(edge!.views[0]!.requestId);
  });

  it('drops header names with underscores', async () => {
    const [port] = await chain(startNginx);
    const res = await fetch(`http://127.0.0.1:${port}/headers`, { headers: { tenant_id: 'acme', 'tenant-id': 'acme' } });
    const seen = (await res.json()) as Record<string, string>;
    expect(seen['tenant-id']).toBe('acme');
    expect(seen.tenant_id).toBeUndefined();
  });

  it('cancels the chain when the client hangs up', async () => {
    const [port] = await chain(startNginx);
    const { reason } = await h1HangUp(port!, 20_000);
    expect(reason).toBeInstanceOf(CancelledError);
  });
});

describe('behind HAProxy (option abortonclose)', () => {
  it('carries the ids, the budget and the user through an h2 front', async () => {
    const [h2] = await chain(startHaproxy);
    const traceId = hex(16);
    const session = connectH2(`http://127.0.0.1:${h2}`);
    try {
      const stream = session.request({ ':path': '/hop?action=ok', ...headers(traceId), 'request-id': 'from-the-proxy-1' });
      const [status] = await Promise.all([
        new Promise<number>((resolve) => stream.once('response', (h) => resolve(Number(h[':status'])))),
        new Promise((resolve) => stream.resume().once('end', resolve)),
      ]);
      expect(status).toBe(200);
    } finally {
      session.close();
    }
    expect(edge!.views[0]).toMatchObject({ traceId, requestId: 'from-the-proxy-1', userId: 'carol' });
    expect(leaf!.views[0]).toMatchObject({ traceId, requestId: 'from-the-proxy-1', userId: 'carol' });
    expect(leaf!.views[0]!.remainingMs).toBeLessThanOrEqual(1500);
  });

  it('forwards header names with underscores', async () => {
    const [, h1] = await chain(startHaproxy);
    const res = await fetch(`http://127.0.0.1:${h1}/headers`, { headers: { tenant_id: 'acme' } });
    expect(((await res.json()) as Record<string, string>).tenant_id).toBe('acme');
  });

  it('cancels the chain when an HTTP/2 client resets its stream', async () => {
    const [h2] = await chain(startHaproxy);
    const session = connectH2(`http://127.0.0.1:${h2}`);
    try {
      const { reason } = await hangUp(() => {
        const stream = session.request({ ':path': '/hop?action=hang', 'request-timeout-ms': '20000' });
        stream.on('error', () => {});
        return { abandon: () => stream.close() };
      }, 20_000);
      expect(reason).toBeInstanceOf(CancelledError);
    } finally {
      session.destroy();
    }
  });

  it('cancels the chain when an HTTP/2 client drops its connection', async () => {
    const [h2] = await chain(startHaproxy);
    const session = connectH2(`http://127.0.0.1:${h2}`);
    session.on('error', () => {});
    const { reason } = await hangUp(() => {
      const stream = session.request({ ':path': '/hop?action=hang', 'request-timeout-ms': '20000' });
      stream.on('error', () => {});
      return { abandon: () => session.destroy() };
    }, 20_000);
    expect(reason).toBeInstanceOf(CancelledError);
  });

  it('cancels the chain when an HTTP/1.1 client hangs up', async () => {
    const [, h1] = await chain(startHaproxy);
    const { reason } = await h1HangUp(h1!, 20_000);
    expect(reason).toBeInstanceOf(CancelledError);
  });
});

describe('behind HAProxy at its default (no abortonclose)', () => {
  it('never forwards an HTTP/1.1 client’s hang-up: the edge budget is the only bound', async () => {
    const [, h1] = await chain((port) => startHaproxy(port, false));
    const { reason, afterMs } = await h1HangUp(h1!, 1_000);
    expect(reason).toBeInstanceOf(DeadlineExceededError);
    expect(afterMs).toBeGreaterThan(500);
  });

  it('forwards only an HTTP/2 stream reset', async () => {
    const [h2] = await chain((port) => startHaproxy(port, false));
    const session = connectH2(`http://127.0.0.1:${h2}`);
    try {
      const { reason } = await hangUp(() => {
        const stream = session.request({ ':path': '/hop?action=hang', 'request-timeout-ms': '20000' });
        stream.on('error', () => {});
        return { abandon: () => stream.close() };
      }, 20_000);
      expect(reason).toBeInstanceOf(CancelledError);
    } finally {
      session.destroy();
    }
  });
});
