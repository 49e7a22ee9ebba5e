import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type CarrierGetter, compileExtractor, type ExtractSource, injectContext, recordCarrier } from './adapter.js';
import type { Drop } from './index.js';
import { createContext, defineKey, type OwnedContext } from './index.js';

const tenant = defineKey('tenant-id');

type Headers = Record<string, string | string[]>;

function headers(h: Headers): Headers {
  return h;
}

/** An extractor reading plain records (core's `recordCarrier`), collecting its drops. */
function extractor(opts: Parameters<typeof compileExtractor>[0] = {}) {
  const drops: Drop[] = [];
  const compiled = compileExtractor({ ...opts, onDrop: (d) => drops.push(d) });
  const extract = (h: Headers, source?: ExtractSource) => compiled(recordCarrier, h, source);
  return { extract, drops };
}

const TP = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
const B = '4bf92f3577b34da6a3ce929d0e0e4736';
const C = 'a3ce929d0e0e47364bf92f3577b34da6';
const INNER = '11111111111111111111111111111111';
const OUTER = '22222222222222222222222222222222';

describe('trace id precedence', () => {
  it('traceparent, then a 32-hex trace-id, then a 32-hex x-request-id, else new', () => {
    const { extract } = extractor({ trust: 'edge' });
    expect(extract(headers({ traceparent: TP, 'trace-id': 'b', 'x-request-id': 'c' })).traceId).toBe(
      '0af7651916cd43dd8448eb211c80319c',
    );
    expect(extract(headers({ 'trace-id': B, 'x-request-id': C })).traceId).toBe(B);
    expect(extract(headers({ 'x-request-id': C })).traceId).toBe(C);
    expect(extract(headers({})).traceId).toMatch(/^[0-9a-f]{32}$/);
  });

  it('a legacy id that is not W3C is kept beside a W3C trace id; a trace-id travels on under its header', () => {
    const { extract } = extractor({ trust: 'edge' });
    const uuid = '3f2b8c1e-7d4a-4b6e-9f1a-2c5d8e0b7a91';
    const envoy = extract(headers({ 'x-request-id': uuid }));
    expect(envoy.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(envoy.legacyTraceId).toBe(uuid);
    const old = extract(headers({ 'trace-id': 'legacy-b', 'x-request-id': C }));
    expect([old.traceId, old.legacyTraceId]).toEqual([C, 'legacy-b']);
    const wire: Record<string, string> = {};
    injectContext(old, recordCarrier, wire);
    expect(wire['trace-id']).toBe('legacy-b');
    expect(wire.traceparent).toMatch(new RegExp(`^00-${C}-[0-9a-f]{16}-00$`));
    // From the public edge a client's x-request-id is kept and logged, not forwarded (it is the
    // request id's header, forwarded from a trusted proxy only).
    const both: Record<string, string> = {};
    injectContext(envoy, recordCarrier, both);
    expect([both['trace-id'], both['x-request-id']]).toEqual([envoy.traceId, undefined]);
    const behindEnvoy = extractor({ trust: { keys: ['request-id'], from: ['10.0.0.2'] } }).extract(headers({ 'x-request-id': uuid }), {
      remoteAddress: '10.0.0.2',
    });
    expect([behindEnvoy.legacyTraceId, behindEnvoy.requestId, behindEnvoy.metadata.get('x-request-id')]).toEqual([uuid, uuid, uuid]);
    expect(behindEnvoy.traceId).toMatch(/^[0-9a-f]{32}$/);
    // A W3C id that lost to the traceparent is not forwarded as a second trace.
    const lost = extract(headers({ traceparent: TP, 'trace-id': B }));
    expect([lost.legacyTraceId, lost.metadata.get('trace-id')]).toEqual([undefined, lost.traceId]);
  });

  it('an invalid traceparent is dropped with a reason and the next source wins', () => {
    const { extract, drops } = extractor({ trust: 'edge' });
    const ctx = extract(headers({ traceparent: '00-zz-bad', 'trace-id': B }));
    expect(ctx.traceId).toBe(B);
    expect(drops).toEqual([
      { key: 'traceparent', reason: 'malformed traceparent', value: '00-zz-bad', traceId: B, requestId: ctx.requestId },
    ]);
  });

  it("drops are reported once the context exists: with its ids, the source's origin, never another request's", () => {
    const seen: [Drop, unknown][] = [];
    const extract = compileExtractor({ trust: 'edge', onDrop: (d, origin) => seen.push([d, origin]) });
    const origin = { request: 1 };
    const ctx = extract(recordCarrier, headers({ traceparent: 'bad', 'x-request-id': 'r\u00e9q', 'request-timeout-ms': 'soon' }), { origin });
    expect(seen.map(([d, o]) => [d.key, d.traceId, d.requestId, o])).toEqual([
      ['traceparent', ctx.traceId, ctx.requestId, origin],
      ['x-request-id', ctx.traceId, ctx.requestId, origin],
      ['request-timeout-ms', ctx.traceId, ctx.requestId, origin],
    ]);
    // A getter that throws mid-way leaves its drops behind; the next request does not get them.
    const throwing: CarrierGetter<object> = {
      get: (_carrier, key) => {
        if (key === 'traceparent') return 'bad';
        throw new Error('carrier broke');
      },
    };
    expect(() => extract(throwing, {})).toThrow('carrier broke');
    seen.length = 0;
    const next = extract(recordCarrier, headers({ 'trace-id': B }));
    expect(next.traceId).toBe(B);
    expect(seen).toEqual([]);
  });

  it('is re-entrant: a getter that extracts again keeps each request its own carrier and drops', () => {
    const seen: [string, string | undefined, string][] = [];
    const extract = compileExtractor({ trust: 'internal', onDrop: (d) => seen.push([d.key, d.traceId, d.value ?? '']) });
    let inner: OwnedContext | undefined;
    // A lazy carrier that, when asked for the user, serves another request first.
    const nesting: CarrierGetter<Headers> = {
      get: (h, key) => {
        if (key === 'user-id') inner ??= extract(recordCarrier, { 'trace-id': INNER, 'user-id': 'u-in', traceparent: 'bad-in' });
        return h[key];
      },
    };
    const outer = extract(nesting, { traceparent: 'bad-out', 'trace-id': OUTER, 'user-id': 'u-out' });
    expect([outer.traceId, outer.userId, inner?.traceId, inner?.userId]).toEqual([OUTER, 'u-out', INNER, 'u-in']);
    expect(seen).toEqual([
      ['traceparent', INNER, 'bad-in'],
      ['traceparent', OUTER, 'bad-out'],
    ]);
  });

  it('duplicate values are ambiguous and dropped', () => {
    const { extract, drops } = extractor({ trust: 'edge' });
    const ctx = extract(headers({ traceparent: [TP, TP], 'trace-id': ['a', 'b'] }));
    expect(ctx.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(drops.map((d) => d.reason)).toEqual(['sent more than once', 'sent more than once']);
  });
});

describe('trust', () => {
  const spoof = headers({ 'trace-id': B, 'request-id': 'r-1', 'user-id': 'admin', 'tenant-id': 'acme' });

  it('the edge honours the trace id only', () => {
    const ctx = extractor({ trust: 'edge' }).extract(spoof);
    expect(ctx.traceId).toBe(B);
    expect(ctx.requestId).not.toBe('r-1');
    expect(ctx.userId).toBeUndefined();
    expect(ctx.get(tenant)).toBeUndefined();
    expect([...ctx.metadata.keys()]).toEqual(['trace-id', 'request-id']);
  });

  it('internal servers honour every declared key', () => {
    const ctx = extractor({ trust: 'internal' }).extract(spoof);
    expect([ctx.traceId, ctx.requestId, ctx.userId, ctx.get(tenant)]).toEqual([B, 'r-1', 'admin', 'acme']);
  });

  it('a rule honours listed keys from listed peers only', () => {
    const { extract } = extractor({ trust: { keys: ['userId'], from: ['10.0.0.7'] } });
    expect(extract(spoof, { remoteAddress: '::ffff:10.0.0.7' }).userId).toBe('admin');
    expect(extract(spoof, { remoteAddress: '::ffff:10.0.0.7' }).get(tenant)).toBeUndefined();
    expect(extract(spoof, { remoteAddress: '10.0.0.8' }).userId).toBeUndefined();
    expect(extract(spoof).userId).toBeUndefined();
  });

  it("the transport's request id is used instead of a new one", () => {
    expect(extractor({ trust: 'edge' }).extract(spoof, { requestId: 'req-1' }).requestId).toBe('req-1');
  });
});

describe('deadline', () => {
  it('reads the timeout header, defaults and clamps it, drops a bad one with a reason', () => {
    const { extract, drops } = extractor({ defaultTimeoutMs: 1000, maxTimeoutMs: 5000 });
    const near = (ctx: { deadline: number | undefined }, ms: number) =>
      expect(Math.abs(ctx.deadline! - Date.now() - ms)).toBeLessThan(50);
    near(extract(headers({ 'request-timeout-ms': '300' })), 300);
    near(extract(headers({ 'request-timeout-ms': '60000' })), 5000);
    near(extract(headers({})), 1000);
    const late = extract(headers({ 'request-timeout-ms': '-5' }));
    near(late, 1000);
    expect(drops).toEqual([
      { key: 'request-timeout-ms', reason: 'negative timeout', value: '-5', traceId: late.traceId, requestId: late.requestId },
    ]);
    near(extract(headers({}), { timeoutMs: 200 }), 200);
  });

  it('no deadline when none is asked for and none configured', () => {
    expect(extractor({ timeoutHeader: false }).extract(headers({ 'request-timeout-ms': '5' })).deadline).toBeUndefined();
  });
});

describe('hostile input', () => {
  it('bad values are dropped with a reason, good ones kept', () => {
    const { extract, drops } = extractor({ trust: 'internal' });
    const ctx = extract(
      headers({
        'trace-id': 'x'.repeat(10_000),
        'user-id': 'bob\r\nset-cookie: a=b',
        'tenant-id': 'caf\u00e9',
      }),
    );
    expect(ctx.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(ctx.userId).toBeUndefined();
    expect(ctx.get(tenant)).toBeUndefined();
    expect(drops.map((d) => [d.key, d.reason])).toEqual([
      ['trace-id', 'longer than 128 characters'],
      ['user-id', 'contains CR or LF'],
      ['tenant-id', 'not printable ASCII (or blank at an end)'],
    ]);
    for (const d of drops) expect(d.value).toMatch(/^[\x20-\x7e]*$/);
  });

  it('whatever arrives, extraction never throws and only valid values are kept', () => {
    const { extract } = extractor({ trust: 'internal', maxTimeoutMs: 10_000 });
    const value = fc.oneof(
      fc.string({ maxLength: 300 }),
      fc.string({ unit: 'binary', maxLength: 40 }),
      fc.array(fc.string({ maxLength: 20 }), { maxLength: 3 }),
    );
    const names = fc.constantFrom('traceparent', 'trace-id', 'x-request-id', 'request-id', 'user-id', 'tenant-id', 'request-timeout-ms');
    fc.assert(
      fc.property(fc.dictionary(names, value), (h) => {
        const ctx = extract(headers(h));
        for (const [k, v] of ctx.metadata) {
          expect(k).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
          expect(v).toMatch(/^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$/);
        }
        expect(ctx.remainingMs()).toBeLessThanOrEqual(10_000);
        ctx.end();
      }),
      { numRuns: 3000 },
    );
  });
});

describe('injection', () => {
  it('writes every propagated key in wire form, filtered when asked', () => {
    const ctx = createContext({ traceId: 't', requestId: 'r', userId: 'u', values: { tenantId: 'acme' } });
    const out: [string, string][] = [];
    injectContext(ctx, { set: (list: [string, string][], k, v) => list.push([k, v]) }, out);
    expect(out.slice(0, 4)).toEqual([
      ['trace-id', 't'],
      ['request-id', 'r'],
      ['user-id', 'u'],
      ['tenant-id', 'acme'],
    ]);
    // The legacy id 't' travels as it came; the W3C id ctxkit chose at random in a traceparent.
    expect(out[4]).toEqual(['traceparent', expect.stringMatching(new RegExp(`^00-${ctx.traceId}-[0-9a-f]{16}-02$`))]);
    expect(out).toHaveLength(5);
    const external: string[] = [];
    injectContext(ctx, { set: (list: string[], k) => list.push(k) }, external, (k) => k === 'trace-id');
    expect(external).toEqual(['trace-id']);
  });

  it('extract ∘ inject round-trips between internal hops', () => {
    const a = createContext({ userId: 'u-1', values: { tenantId: 'globex' } });
    const wire: Record<string, string> = {};
    injectContext(a, recordCarrier, wire);
    const b = extractor({ trust: 'internal' }).extract(headers(wire));
    // The traceparent a started is what b forwards: same trace, pass-through.
    expect(new Map(b.metadata)).toEqual(new Map([...a.metadata, ['traceparent', wire.traceparent!]]));
    expect(b.traceId).toBe(a.traceId);
  });
});

describe('framework inputs', () => {
  it("an invalid framework request id is dropped with a reason and replaced", () => {
    const { extract, drops } = extractor({ trust: 'edge' });
    const ctx = extract(headers({}), { requestId: 'bad id, with comma' });
    expect(ctx.requestId).toMatch(/^[0-9a-f]{16}$/);
    expect(drops[0]).toMatchObject({ key: 'request-id', reason: 'framework request id does not match the key pattern' });
  });

  it('a per-request cap wins over a larger budget, never over a smaller one', () => {
    const { extract } = extractor({ defaultTimeoutMs: 5000 });
    const left = (ms: number | undefined, cap: number) => extract(headers(ms === undefined ? {} : { 'request-timeout-ms': String(ms) }), { maxTimeoutMs: cap }).remainingMs();
    expect(left(undefined, 100)).toBeLessThanOrEqual(100);
    expect(left(50, 1000)).toBeLessThanOrEqual(50);
    expect(extractor({}).extract(headers({}), { maxTimeoutMs: 200 }).remainingMs()).toBeLessThanOrEqual(200);
  });

  it('refuses bad budget options at compile time', () => {
    expect(() => compileExtractor({ defaultTimeoutMs: -1 })).toThrow(RangeError);
    expect(() => compileExtractor({ maxTimeoutMs: Number.NaN })).toThrow(RangeError);
  });
});

describe('trace id from trusted peers', () => {
  it("prefers ctxkit's trace-id over a traceparent of another trace written beside it", () => {
    const both = headers({ traceparent: TP, 'trace-id': 'aaaabbbbccccddddeeeeffff00001111' });
    expect(extractor({ trust: 'internal' }).extract(both).traceId).toBe('aaaabbbbccccddddeeeeffff00001111');
    expect(extractor({ trust: 'edge' }).extract(both).traceId).toBe('0af7651916cd43dd8448eb211c80319c');
    expect(extractor({ trust: 'internal' }).extract(headers({ traceparent: TP })).traceId).toBe('0af7651916cd43dd8448eb211c80319c');
  });
});

describe('request id', () => {
  it("a trusted peer's request id wins over the framework's; at the edge the framework's is used", () => {
    const get = headers({ 'request-id': 'chain-req-1' });
    expect(extractor({ trust: 'internal' }).extract(get, { requestId: 'req-1' }).requestId).toBe('chain-req-1');
    expect(extractor({ trust: 'edge' }).extract(get, { requestId: 'req-1' }).requestId).toBe('req-1');
    expect(extractor({ trust: 'internal' }).extract(headers({}), { requestId: 'req-2' }).requestId).toBe('req-2');
  });
});

describe('proxy and mesh conventions (Envoy, Istio, nginx)', () => {
  const proxy = { keys: ['request-id'], from: ['10.0.0.2'] } as const;
  const fromProxy = { remoteAddress: '10.0.0.2' };
  const fromClient = { remoteAddress: '203.0.113.9' };
  const sent = (ctx: OwnedContext) => {
    const out: Record<string, string> = {};
    injectContext(ctx, recordCarrier, out);
    return out;
  };

  it("a trusted proxy's x-request-id is the chain's request id, forwarded unchanged", () => {
    const { extract } = extractor({ trust: proxy });
    const uuid = '7c0e6a4e-1f7b-4c43-9a55-2f1f6b0d6c1e';
    const ctx = extract(headers({ 'x-request-id': uuid }), fromProxy);
    expect(ctx.requestId).toBe(uuid);
    expect(sent(ctx)).toMatchObject({ 'request-id': uuid, 'x-request-id': uuid });
    // ctxkit's own request-id from the peer comes first; the proxy's id still travels on.
    const both = extract(headers({ 'request-id': 'chain-1', 'x-request-id': uuid }), fromProxy);
    expect(both.requestId).toBe('chain-1');
    expect(sent(both)).toMatchObject({ 'request-id': 'chain-1', 'x-request-id': uuid });
  });

  it('an untrusted client’s x-request-id names no request and is not forwarded under its header', () => {
    const { extract } = extractor({ trust: proxy });
    const ctx = extract(headers({ 'x-request-id': 'client-made' }), fromClient);
    expect(ctx.requestId).not.toBe('client-made');
    expect(sent(ctx)['x-request-id']).toBeUndefined();
  });

  it("Envoy's x-envoy-expected-rq-timeout-ms from a trusted proxy is a budget; the smaller one wins", () => {
    const { extract, drops } = extractor({ trust: proxy, defaultTimeoutMs: 30_000 });
    const remaining = (h: Headers, source = fromProxy) => {
      const ctx = extract(h, source);
      return ctx.deadline! - Date.now();
    };
    expect(remaining({ 'x-envoy-expected-rq-timeout-ms': '800' })).toBeLessThanOrEqual(800);
    expect(remaining({ 'x-envoy-expected-rq-timeout-ms': '800', 'request-timeout-ms': '300' })).toBeLessThanOrEqual(300);
    expect(remaining({ 'x-envoy-expected-rq-timeout-ms': '300', 'request-timeout-ms': '800' })).toBeLessThanOrEqual(300);
    expect(remaining({ 'x-envoy-expected-rq-timeout-ms': '800' }, fromClient)).toBeGreaterThan(20_000);
    expect(remaining({ 'x-envoy-expected-rq-timeout-ms': 'soon' })).toBeGreaterThan(20_000);
    expect(drops.map((d) => [d.key, d.value])).toEqual([['x-envoy-expected-rq-timeout-ms', 'soon']]);
  });

  it('never forwards x-envoy-* headers, from anyone', () => {
    const envoy = { 'x-envoy-expected-rq-timeout-ms': '800', 'x-envoy-retry-on': '5xx', 'x-envoy-upstream-rq-timeout-ms': '1' };
    for (const [trust, source] of [['edge', fromClient], ['internal', fromProxy], [proxy, fromProxy]] as const) {
      const out = sent(extractor({ trust }).extract(headers(envoy), source));
      expect(Object.keys(out).filter((k) => k.startsWith('x-envoy-'))).toEqual([]);
    }
  });
});

describe('transports without native deadlines or headers', () => {
  it('what the transport refused before extraction is reported like any drop, with the context\'s ids', () => {
    const { extract, drops } = extractor();
    const ctx = extract(headers({ 'user-id': 'alice' }), { refused: { key: 'headers', reason: 'malformed header block' } });
    expect(drops).toEqual([{ key: 'headers', reason: 'malformed header block', value: undefined, traceId: ctx.traceId, requestId: ctx.requestId }]);
    expect(ctx.userId).toBe('alice'); // the rest of the carrier is still read
  });

  it('a budget injected with the keys comes back as the deadline', () => {
    const caller = createContext({ userId: 'alice', timeoutMs: 5000 });
    const out: Record<string, string> = {};
    injectContext(caller, recordCarrier, out, undefined, 1234.9);
    expect(out['request-timeout-ms']).toBe('1234');
    const { extract } = extractor();
    const before = Date.now();
    const callee = extract(out);
    expect(callee.deadline! - before).toBeGreaterThanOrEqual(1234);
    expect(callee.deadline! - Date.now()).toBeLessThanOrEqual(1234);
    expect(callee.userId).toBe('alice');
    caller.end();
  });
});
