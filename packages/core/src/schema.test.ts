import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defineKey, InvalidMetadataError } from './index.js';
import { keyDefinition, normalizeKey, valueProblem } from './schema.js';

describe('key normalisation', () => {
  it.each([
    ['traceId', 'trace-id'],
    ['user_id', 'user-id'],
    ['Trace-ID', 'trace-id'],
    ['tenant id', 'tenant-id'],
    ['HTTPServerName', 'http-server-name'],
    ['x-Tenant', 'x-tenant'],
    ['region2', 'region2'],
  ])('%s → %s', (given, want) => {
    expect(normalizeKey(given)).toBe(want);
  });

  it.each([
    ['', /1 to 64/],
    ['-lead', /single hyphens/],
    ['a--b', /single hyphens/],
    ['ünïcode', /single hyphens/],
    ['grpc-timeout', /grpc- prefix/],
    ['trace-bin', /-bin/],
    ['connection', /reserved/],
    ['Authorization', /reserved/],
    ['traceparent', /reserved/],
    ['x'.repeat(65), /1 to 64/],
  ])('refuses %j naming the rule', (given, rule) => {
    expect(() => normalizeKey(given)).toThrow(InvalidMetadataError);
    expect(() => normalizeKey(given)).toThrow(rule);
  });

  it('always yields a valid wire key or throws a typed error', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (s) => {
        try {
          const key = normalizeKey(s);
          expect(key).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
          expect(key.startsWith('grpc-') || key.endsWith('-bin')).toBe(false);
        } catch (e) {
          expect(e).toBeInstanceOf(InvalidMetadataError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('defineKey', () => {
  it('declares once; the same declaration again is the same key', () => {
    const a = defineKey('orderSource', { maxLength: 32 });
    const b = defineKey('order-source', { maxLength: 32 });
    expect(a.name).toBe('order-source');
    expect(b.name).toBe('order-source');
    expect(() => defineKey('OrderSource', { maxLength: 64 })).toThrow(/different options/);
  });

  it('refuses names proxies drop (underscores) and Envoy’s own prefix', () => {
    expect(() => defineKey('tenant_id')).toThrowErrorMatchingInlineSnapshot(`[InvalidMetadataError: ctxkit: invalid metadata "tenant_id": underscores are dropped by proxies; name it 'tenant-id']`);
    expect(() => defineKey('x-envoy-upstream-rq-timeout-ms')).toThrowErrorMatchingInlineSnapshot(`[InvalidMetadataError: ctxkit: invalid metadata "x-envoy-upstream-rq-timeout-ms": the x-envoy- prefix is Envoy’s own and never forwarded]`);
    expect(() => defineKey('xEnvoyRetryOn')).toThrow(/x-envoy- prefix/);
    expect(normalizeKey('tenant_id')).toBe('tenant-id'); // the helper still renames
  });

  it('throws at declaration for bad keys and options', () => {
    expect(() => defineKey('grpc-status')).toThrow(InvalidMetadataError);
    expect(() => defineKey('user-id')).toThrow(/built in/);
    expect(() => defineKey('big', { maxLength: 5000 })).toThrow(/maxLength/);
    expect(() => defineKey('pat', { pattern: /x/g })).toThrow(/global or sticky/);
  });

  it('typed keys reject values of the wrong type at compile time', () => {
    const plan = defineKey<'free' | 'pro'>('plan');
    // @ts-expect-error 42 is not a plan
    const bad: typeof plan extends { __value?: infer T } ? T : never = 42;
    expect(bad).toBe(42);
  });
});

describe('value validation', () => {
  const custom = keyDefinition(defineKey('region').name)!;
  const id = keyDefinition('trace-id')!;

  it('accepts printable ASCII with inner spaces for custom keys, stricter ids', () => {
    expect(valueProblem(custom, 'eu west 1')).toBeUndefined();
    expect(valueProblem(id, 'a, b')).toBe('does not match the key pattern');
    expect(valueProblem(custom, ' lead')).toMatch(/blank at an end/);
    expect(valueProblem(custom, 'a\r\nb')).toBe('contains CR or LF');
    expect(valueProblem(custom, 'é')).toMatch(/printable ASCII/);
    expect(valueProblem(custom, 'x'.repeat(257))).toMatch(/longer than 256/);
    expect(valueProblem(custom, 7)).toBe('not a string');
  });

  it('never throws, and whatever passes is safe on any wire', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: 'binary', maxLength: 50 })), (s) => {
        const problem = valueProblem(custom, s);
        if (problem === undefined) {
          expect(s).toMatch(/^[\x20-\x7e]+$/);
          expect(s.length).toBeLessThanOrEqual(256);
          expect(s.trim()).toBe(s);
        }
      }),
      { numRuns: 3000 },
    );
  });
});
