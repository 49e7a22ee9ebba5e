/**
 * W3C Baggage (https://www.w3.org/TR/baggage/): never read at the public edge; read for declared
 * keys only where `readBaggage` is on, within the spec's limits however many lines carry it.
 */
import { defineKey } from '@ctxkit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Chain, child, startChain, valuesOf } from './support/chain.ts';
import type { Report } from './support/hop-service.ts';
import { type RawHeader, rawRequest } from './support/raw-http.ts';

const tenant = defineKey('tenant-id');

let chain: Chain;
beforeAll(async () => {
  chain = await startChain();
});
afterAll(async () => {
  await chain.close();
});

/** Sends straight to the internal HTTP hop (trust internal, readBaggage on). */
async function internal(headers: readonly RawHeader[]): Promise<Report> {
  const res = await rawRequest(chain.http.port, { headers, body: '{}' });
  expect(res.status).toBe(200);
  return JSON.parse(res.body) as Report;
}

describe('baggage', () => {
  it('the edge never reads it: no user, no custom key, and baggage is not forwarded', async () => {
    const res = await rawRequest(chain.edge.port, {
      headers: [['baggage', 'user-id=mallory,tenant-id=evil']],
      body: JSON.stringify(chain.plan),
    });
    const edge = JSON.parse(res.body) as Report;
    for (const hop of [edge, child(edge), child(child(edge))]) {
      expect(hop.ctx.userId).toBeNull();
      expect(hop.ctx.metadata[tenant.name]).toBeUndefined();
    }
    expect(valuesOf(child(edge), 'baggage')).toEqual([]);
  });

  it('an internal hop with readBaggage takes declared keys from it, percent-decoded, properties ignored', async () => {
    const hop = await internal([['baggage', 'tenant-id=ac%20me;prop=1, unknown-key=x']]);
    expect(hop.ctx.metadata[tenant.name]).toBe('ac me');
    expect(hop.ctx.metadata['unknown-key']).toBeUndefined();
  });

  it('a key’s own header wins over baggage', async () => {
    const hop = await internal([['tenant-id', 'own'], ['baggage', 'tenant-id=from-baggage']]);
    expect(hop.ctx.metadata[tenant.name]).toBe('own');
  });

  it('a decoded value that breaks the value rules is dropped (CR LF, non-ASCII, bad escapes)', async () => {
    for (const value of ['a%0D%0Ab', '%C3%BC', '%E0%A4%A', 'x%ZZ']) {
      const hop = await internal([['baggage', `tenant-id=${value}`]]);
      expect(hop.ctx.metadata[tenant.name], value).toBeUndefined();
    }
  });

  it('counts 64 members across every header line: the 65th is not read', async () => {
    const filler = Array.from({ length: 32 }, (_, i) => `f${i}=1`).join(',');
    expect((await internal([['baggage', filler], ['baggage', `${filler.replace(/f/g, 'g')}`], ['baggage', 'tenant-id=late']])).ctx.metadata[tenant.name]).toBeUndefined();
    expect((await internal([['baggage', filler], ['baggage', 'tenant-id=early']])).ctx.metadata[tenant.name]).toBe('early');
  });

  it('bounds bytes across lines (8192 in all): a key past the budget is not read', async () => {
    const big = `pad=${'p'.repeat(5000)}`;
    expect((await internal([['baggage', big], ['baggage', big], ['baggage', 'tenant-id=late']])).ctx.metadata[tenant.name]).toBeUndefined();
    expect((await internal([['baggage', big], ['baggage', 'tenant-id=ok']])).ctx.metadata[tenant.name]).toBe('ok');
  });

  it('is never forwarded as a header: only the declared key it filled goes on', async () => {
    const plan = { calls: [{ kind: 'http', target: chain.http.target }] };
    const res = await rawRequest(chain.http.port, { headers: [['baggage', 'tenant-id=acme,other=1']], body: JSON.stringify(plan) });
    const next = child(JSON.parse(res.body) as Report);
    expect(valuesOf(next, 'baggage')).toEqual([]);
    expect(valuesOf(next, 'tenant-id')).toEqual(['acme']);
  });
});
