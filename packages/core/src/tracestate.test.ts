import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileExtractor, injectContext, recordGetter, recordSetter } from './adapter.js';
import { parseTracestate } from './tracestate.js';

describe('tracestate', () => {
  it.each([
    ['congo=t61rcWkgMzE', 'congo=t61rcWkgMzE'],
    ['rojo=00f067aa0ba902b7, congo=t61rcWkgMzE', 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE'],
    ['a=1,,\t ,b=2', 'a=1,b=2'],
    ['tenant@vendor=x', 'tenant@vendor=x'],
    ['1tenant@v=x', '1tenant@v=x'],
    ['', ''],
    ['a=inner space ', 'a=inner space'],
  ])('%j → %j', (input, want) => {
    expect(parseTracestate(input)).toBe(want);
  });

  it('combines several header lines in order', () => {
    expect(parseTracestate(['a=1', 'b=2,c=3'])).toBe('a=1,b=2,c=3');
  });

  it.each([
    ['Upper=1', 'malformed tracestate member'],
    ['a=1,a=2', 'duplicate tracestate key'],
    ['a=', 'malformed tracestate member'],
    ['a=x,y', 'malformed tracestate member'],
    ['a=b=c', 'malformed tracestate member'],
    ['a=\u00e9', 'malformed tracestate member'],
    [Array.from({ length: 33 }, (_, i) => `k${i}=v`).join(','), 'more than 32 tracestate members'],
    ['a=1,'.repeat(3000), 'tracestate too long'],
  ])('drops %j whole: %s', (input, reason) => {
    const reasons: string[] = [];
    expect(parseTracestate(input, (r) => reasons.push(r))).toBeUndefined();
    expect(reasons).toEqual([reason]);
  });

  it('cuts to 512 characters by whole entries, long ones first, then from the end', () => {
    const long = `big=${'x'.repeat(200)}`;
    const small = Array.from({ length: 30 }, (_, i) => `k${String(i).padStart(2, '0')}=${'v'.repeat(10)}`);
    const out = parseTracestate([long, ...small].join(','))!;
    expect(out.length).toBeLessThanOrEqual(512);
    expect(out).not.toContain('big=');
    expect(out.startsWith('k00=')).toBe(true);
    expect(out.split(',').every((m) => small.includes(m))).toBe(true);
    expect(out.split(',')).toEqual(small.slice(0, out.split(',').length));
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
    injectContext(extract(recordGetter, h), recordSetter, wire);
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

  it('an invalid traceparent restarts the trace and drops tracestate', () => {
    const wire = out({ traceparent: '00-xyz', tracestate: 'rojo=1' });
    expect(wire.traceparent).toBeUndefined();
    expect(wire.tracestate).toBeUndefined();
    expect(wire['trace-id']).toMatch(/^[0-9a-f]{32}$/);
  });

  it('an invalid tracestate is dropped, the traceparent kept', () => {
    const wire = out({ traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00', tracestate: 'a=1,a=2' });
    expect(wire.traceparent).toBeDefined();
    expect(wire.tracestate).toBeUndefined();
  });
});
