import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BAGGAGE_LIMITS, encodeBaggageValue, formatBaggage, parseBaggage } from './baggage.js';

describe('W3C baggage', () => {
  it('parses members, trims whitespace, ignores properties, percent-decodes', () => {
    const b = parseBaggage(' user-id = u%201 , tenant=acme;prop=1,empty=,x=%E2%9C%93');
    expect([...b]).toEqual([
      ['user-id', 'u 1'],
      ['tenant', 'acme'],
      ['empty', ''],
      ['x', '✓'],
    ]);
  });

  it('combines several header lines', () => {
    expect([...parseBaggage(['a=1', 'b=2,c=3'])]).toEqual([
      ['a', '1'],
      ['b', '2'],
      ['c', '3'],
    ]);
  });

  it('skips malformed members with a reason and keeps the rest', () => {
    const reasons: string[] = [];
    const b = parseBaggage('good=1,no-equals,bad key=2,q="x",pct=%zz,ok=2', (r) => reasons.push(r));
    expect([...b.keys()]).toEqual(['good', 'ok']);
    expect(reasons).toEqual([
      'malformed baggage member',
      'malformed baggage member',
      'malformed baggage member',
      'bad percent-encoding in baggage',
    ]);
  });

  it('holds the member and byte budgets across header lines', () => {
    const reasons: string[] = [];
    const many = Array.from({ length: 70 }, (_, i) => `k${i}=v`);
    expect(parseBaggage([many.slice(0, 40).join(','), many.slice(40).join(',')], (r) => reasons.push(r)).size).toBe(
      BAGGAGE_LIMITS.members,
    );
    expect(reasons).toEqual(['more than 64 baggage members: the rest is dropped']);
    const big = Array.from({ length: 5 }, (_, i) => `k${i}=${'v'.repeat(3000)}`);
    expect(parseBaggage(big).size).toBe(2);
  });

  it('round-trips any text through format and parse, never throwing on hostile input', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/), fc.string({ maxLength: 30 })), { maxLength: 10 }), (entries) => {
        const unique = new Map(entries);
        expect(parseBaggage(formatBaggage(unique))).toEqual(unique);
      }),
    );
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 500 }), fc.array(fc.string({ maxLength: 100 }), { maxLength: 4 })), (v) => {
        const b = parseBaggage(v);
        expect(b.size).toBeLessThanOrEqual(64);
      }),
      { numRuns: 2000 },
    );
    expect(encodeBaggageValue('a b,c;d\\e"f%')).toBe('a%20b%2Cc%3Bd%5Ce%22f%25');
  });
});

describe('baggage in extraction', () => {
  it('fills trusted declared keys from baggage, never at the edge', async () => {
    const { compileExtractor, recordCarrier } = await import('./adapter.js');
    const { defineKey } = await import('./index.js');
    const region = defineKey('region');
    const headers: Record<string, string> = { baggage: 'user-id=u-1,region=eu%20west,other=x', 'user-id': 'u-header' };
    const internal = compileExtractor({ trust: 'internal', readBaggage: true })(recordCarrier, headers);
    expect([internal.userId, internal.get(region), internal.metadata.has('other')]).toEqual(['u-header', 'eu west', false]);
    const edge = compileExtractor({ trust: 'edge', readBaggage: true })(recordCarrier, headers);
    expect([edge.userId, edge.get(region)]).toEqual([undefined, undefined]);
    const off = compileExtractor({ trust: 'internal' })(recordCarrier, headers);
    expect(off.get(region)).toBeUndefined();
  });
});
