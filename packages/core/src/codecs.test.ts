import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatHttpTimeout, parseHttpTimeout, resolveBudget } from './deadline.js';
import { newSpanId, newTraceId } from './ids.js';
import { formatTraceparent, isW3CTraceId, parseTraceparent } from './traceparent.js';

const hex = (n: number) => fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: n, maxLength: n });

describe('traceparent', () => {
  it('round-trips valid version-00 values', () => {
    fc.assert(
      fc.property(hex(32), hex(16), fc.integer({ min: 0, max: 255 }), (traceId, parentId, flags) => {
        fc.pre(!/^0+$/.test(traceId) && !/^0+$/.test(parentId));
        const tp = { traceId, parentId, flags };
        expect(parseTraceparent(formatTraceparent(tp))).toEqual(tp);
      }),
    );
  });

  it.each([
    ['00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', true],
    ['00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01', false],
    ['00-00000000000000000000000000000000-b7ad6b7169203331-01', false],
    ['00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01', false],
    ['ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', false],
    ['00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra', false],
    ['01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-future', true],
    ['01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', true],
    ['01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01x', false],
    ['0-af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', false],
    ['', false],
  ])('%s valid: %s', (value, ok) => {
    const reasons: string[] = [];
    const tp = parseTraceparent(value, (r) => reasons.push(r));
    expect(tp !== undefined).toBe(ok);
    expect(reasons.length).toBe(ok ? 0 : 1);
  });

  it('agrees with the spec grammar for one character changed at any position, past ASCII too', () => {
    // The check looks classes up by the low 7 bits: a character whose low bits name a hex digit
    // or a dash ('\u0130' is 0x130, 0x30 is '0'; '\u0161' is 'a' + 0x100; '\u00ad' is '-' + 0x80) must still fail.
    const grammar = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
    const valid = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    for (let i = 0; i < valid.length; i++) {
      for (const c of ['0', 'a', 'f', 'g', 'A', 'F', '-', ' ', '\u0130', '\u0161', '\u00ad', '\u00b0', '\u2d2d']) {
        const value = valid.slice(0, i) + c + valid.slice(i + 1);
        const m = grammar.exec(value);
        // Version 00 is only ever read as 00; what the grammar refuses at position 0 or 1 is another version.
        if (i < 2 && m === null) continue;
        expect(parseTraceparent(value)?.traceId, `${JSON.stringify(value)}`).toBe(m?.[1]);
        if (m !== null) expect(parseTraceparent(value)?.flags).toBe(Number.parseInt(m[3]!, 16));
      }
    }
    expect(isW3CTraceId('0af7651916cd43dd8448eb211c80319\u0130')).toBe(false);
    expect(isW3CTraceId('0af7651916cd43dd8448eb211c80319\u0161')).toBe(false);
  });

  it('never throws on hostile input, and what it accepts is a W3C trace id', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 600 }), fc.string({ unit: 'binary', maxLength: 80 })), (s) => {
        const tp = parseTraceparent(s);
        if (tp !== undefined) {
          expect(isW3CTraceId(tp.traceId)).toBe(true);
          expect(tp.parentId).toMatch(/^[0-9a-f]{16}$/);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('new ids are W3C-valid and distinct', () => {
    const ids = new Set(Array.from({ length: 5000 }, () => newTraceId()));
    expect(ids.size).toBe(5000);
    for (const id of ids) expect(isW3CTraceId(id)).toBe(true);
    expect(newSpanId()).toMatch(/^[0-9a-f]{16}$/);
  });
});

describe('HTTP timeout header', () => {
  it('parses integer milliseconds and rejects the rest with a reason', () => {
    expect(parseHttpTimeout('1500')).toBe(1500);
    expect(parseHttpTimeout('0')).toBe(0);
    for (const bad of ['-5', '1.5', '1e3', '', ' 10', '0x10', '12345678901', 'Infinity']) {
      const reasons: string[] = [];
      expect(parseHttpTimeout(bad, (r) => reasons.push(r))).toBeUndefined();
      expect(reasons).toHaveLength(1);
    }
    expect(formatHttpTimeout(12.9)).toBe('12');
    expect(formatHttpTimeout(-3)).toBe('0');
  });

  it('never throws and accepted values are bounded', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 20 }), (s) => {
        const ms = parseHttpTimeout(s);
        if (ms !== undefined) expect(ms).toBeLessThan(1e10);
      }),
    );
  });

  it('budgets default and clamp', () => {
    expect(resolveBudget(undefined, { defaultTimeoutMs: 500, maxTimeoutMs: 1000 })).toBe(500);
    expect(resolveBudget(5000, { defaultTimeoutMs: 500, maxTimeoutMs: 1000 })).toBe(1000);
    expect(resolveBudget(200, { maxTimeoutMs: 1000 })).toBe(200);
    expect(resolveBudget(undefined, {})).toBeUndefined();
    expect(resolveBudget(undefined, { maxTimeoutMs: 800 })).toBe(800);
  });
});
