import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileExtractor, injectContext, recordCarrier } from './adapter.js';
import { parseTracestate } from './tracestate.js';

const REASONS = (input: string | string[]) => {
  const reasons: string[] = [];
  return { out: parseTracestate(input, (r) => reasons.push(r)), reasons };
};

describe('tracestate (level 2)', () => {
  it.each([
    ['congo=t61rcWkgMzE', 'congo=t61rcWkgMzE'],
    ['rojo=00f067aa0ba902b7, congo=t61rcWkgMzE', 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE'],
    ['a=1,,\t ,b=2', 'a=1,b=2'],
    ['tenant@vendor=x', 'tenant@vendor=x'],
    ['1tenant@v=x', '1tenant@v=x'],
    // Level 2 keys: "@" anywhere after the first character, any number of times.
    ['foo@=1,bar=2', 'foo@=1,bar=2'],
    ['foo@@bar=1', 'foo@@bar=1'],
    ['foo@bar@baz=1', 'foo@bar@baz=1'],
    ['t@vvvvvvvvvvvvvvv=1', 't@vvvvvvvvvvvvvvv=1'],
    ['', ''],
    ['a=inner space ', 'a=inner space'],
    ['a=  leading spaces kept', 'a=  leading spaces kept'],
  ])('%j → %j', (input, want) => {
    expect(REASONS(input)).toEqual({ out: want, reasons: [] });
  });

  it('takes keys of up to 256 characters, simple or multi-tenant', () => {
    for (const key of ['z'.repeat(256), `${'t'.repeat(241)}@${'v'.repeat(14)}`, `${'t'.repeat(242)}@v`]) {
      expect(REASONS(['foo=1', `${key}=1`])).toEqual({ out: `foo=1,${key}=1`, reasons: [] });
    }
  });

  it('takes every character the grammar allows', () => {
    const key = 'abcdefghijklmnopqrstuvwxyz0123456789_-*/';
    let value = '';
    for (let c = 0x20; c <= 0x7e; c++) if (c !== 0x2c && c !== 0x3d) value += String.fromCharCode(c);
    expect(parseTracestate(`${key}=${value}`)).toBe(`${key}=${value}`);
    expect(parseTracestate(`${key}@a-z0-9_-*/=${value}`)).toBe(`${key}@a-z0-9_-*/=${value}`);
  });

  it('combines several header lines in order, empty ones included', () => {
    expect(parseTracestate(['a=1', 'b=2,c=3'])).toBe('a=1,b=2,c=3');
    expect(parseTracestate(['', 'a=1', ''])).toBe('a=1');
  });

  it('keeps the first entry of a duplicate key (the most recent) and says why it dropped the other', () => {
    expect(REASONS('foo=1,foo=2')).toEqual({ out: 'foo=1', reasons: ['duplicate tracestate key (later entry dropped)'] });
    expect(REASONS(['foo=1,bar=2', 'foo=1'])).toEqual({ out: 'foo=1,bar=2', reasons: ['duplicate tracestate key (later entry dropped)'] });
  });

  it('keeps 32 members across header lines', () => {
    const members = Array.from({ length: 32 }, (_, i) => `bar${i}=${i}`);
    expect(parseTracestate([members.slice(0, 20).join(','), members.slice(20).join(',')])).toBe(members.join(','));
  });

  it.each([
    ['FOO=1', 'tracestate member with an invalid key (header dropped)'],
    ['foo =1', 'tracestate member with an invalid key (header dropped)'],
    ['foo.bar=1', 'tracestate member with an invalid key (header dropped)'],
    ['@foo=1,bar=2', 'tracestate member with an invalid key (header dropped)'],
    ['bar=2,@foo=1', 'tracestate member with an invalid key (header dropped)'],
    [`foo=1,${'z'.repeat(257)}=1`, 'tracestate member with an invalid key (header dropped)'],
    ['foo=,bar=3', 'tracestate member with an invalid value (header dropped)'],
    ['foo=bar=baz', 'tracestate member with an invalid value (header dropped)'],
    ['a=x,y', 'tracestate member without "=" (header dropped)'],
    ['a=\u00e9', 'tracestate member with an invalid value (header dropped)'],
    [`a=${'v'.repeat(257)}`, 'tracestate member with an invalid value (header dropped)'],
    [Array.from({ length: 33 }, (_, i) => `k${i}=v`).join(','), 'more than 32 tracestate members (header dropped)'],
    ['a=1,'.repeat(3000), 'tracestate too long'],
  ].map(([input, reason]) => [input!.length > 40 ? `${input!.slice(0, 40)}…` : input!, input!, reason!]))('drops %j whole', (_label, input, reason) => {
    expect(REASONS(input)).toEqual({ out: undefined, reasons: [reason] });
  });

  it('cuts to 512 characters by whole entries, long ones first, then from the end', () => {
    const long = `big=${'x'.repeat(200)}`;
    const small = Array.from({ length: 30 }, (_, i) => `k${String(i).padStart(2, '0')}=${'v'.repeat(10)}`);
    const out = parseTracestate([long, ...small].join(','))!;
    expect(out.length).toBeLessThanOrEqual(512);
    expect(out).not.toContain('big=');
    // Without the long entry the 30 small ones fit (449 characters): only the long one goes.
    expect(out).toBe(small.join(','));
    // 32 entries of 20 characters make 671: the first 24 (503 characters) are kept.
    const many = Array.from({ length: 32 }, (_, i) => `k${String(i).padStart(2, '0')}=${'v'.repeat(16)}`);
    expect(parseTracestate(many.join(','))).toBe(many.slice(0, 24).join(','));
  });

  it('removes only as many long entries as the limit needs, from the right', () => {
    const longA = `a=${'x'.repeat(200)}`;
    const longB = `b=${'y'.repeat(200)}`;
    const small = `c=${'z'.repeat(100)}`;
    // 203 + 203 + 103 + 2 commas = 511: fits whole.
    expect(parseTracestate([longA, longB, small].join(','))).toBe([longA, longB, small].join(','));
    const bigger = `c=${'z'.repeat(110)}`;
    expect(parseTracestate([longA, longB, bigger].join(','))).toBe([longA, bigger].join(','));
  });

  it('never throws, and what it returns is a valid list within limits', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 700 }), fc.array(fc.string({ maxLength: 60 }), { maxLength: 5 })), (v) => {
        const out = parseTracestate(v);
        if (out !== undefined && out !== '') {
          expect(out.length).toBeLessThanOrEqual(512);
          expect(out.split(',').length).toBeLessThanOrEqual(32);
          expect(parseTracestate(out)).toBe(out);
        }
      }),
      { numRuns: 3000 },
    );
  });
});

describe('trace context forwarding (no tracer)', () => {
  const extract = compileExtractor({ trust: 'edge', onDrop: () => {} });
  const out = (h: Record<string, string | string[]>) => {
    const wire: Record<string, string> = {};
    injectContext(extract(recordCarrier, h), recordCarrier, wire);
    return wire;
  };

  it('forwards a valid traceparent (as version 00) and its tracestate', () => {
    const wire = out({
      traceparent: '01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra',
      tracestate: ['rojo=1', 'congo=2'],
    });
    expect(wire.traceparent).toBe('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
    expect(wire.tracestate).toBe('rojo=1,congo=2');
    expect(wire['trace-id']).toBe('0af7651916cd43dd8448eb211c80319c');
  });

  it('an invalid traceparent restarts the trace, drops tracestate, and ctxkit starts a traceparent', () => {
    const wire = out({ traceparent: '00-xyz', tracestate: 'rojo=1' });
    expect(wire.tracestate).toBeUndefined();
    expect(wire['trace-id']).toMatch(/^[0-9a-f]{32}$/);
    // The new trace id, a parent id of ctxkit's own, the random flag, not sampled.
    expect(wire.traceparent).toMatch(new RegExp(`^00-${wire['trace-id']}-[0-9a-f]{16}-02$`));
  });

  it('a started traceparent has a new parent id for every call, and no random flag on a legacy id', () => {
    const ctx = extract(recordCarrier, {});
    const parents = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const wire: Record<string, string> = {};
      injectContext(ctx, recordCarrier, wire);
      parents.add(wire.traceparent!.slice(36, 52));
    }
    expect(parents.size).toBe(3);
    const legacy = extract(recordCarrier, { 'trace-id': '4bf92f3577b34da6a3ce929d0e0e4736' });
    const wire: Record<string, string> = {};
    injectContext(legacy, recordCarrier, wire);
    expect(wire.traceparent).toMatch(/^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-00$/);
  });

  it('an invalid tracestate is dropped, the traceparent kept', () => {
    const wire = out({ traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00', tracestate: 'a=1,A=2' });
    expect(wire.traceparent).toBeDefined();
    expect(wire.tracestate).toBeUndefined();
  });
});
