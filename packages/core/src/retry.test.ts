import { describe, expect, it } from 'vitest';
import { nodeHeadersGetter } from './carrier.js';
import { compileExtractor } from './extract.js';
import { createContext } from './index.js';
import { RetryPolicy } from './retry.js';

describe('RetryPolicy.compile', () => {
  it('is off unless asked, has safe defaults, and refuses bad options at set-up', () => {
    expect(RetryPolicy.compile(undefined)).toBeUndefined();
    expect(RetryPolicy.compile(false)).toBeUndefined();
    expect(RetryPolicy.compile(true)).toEqual({
      maxAttempts: 3,
      initialBackoffMs: 50,
      maxBackoffMs: 1000,
      backoffMultiplier: 2,
      minAttemptMs: 20,
      attemptTimeoutMs: undefined,
    });
    expect(() => RetryPolicy.compile({ maxAttempts: 0 })).toThrow(RangeError);
    expect(() => RetryPolicy.compile({ maxAttempts: 11 })).toThrow(RangeError);
    expect(() => RetryPolicy.compile({ initialBackoffMs: -1 })).toThrow(RangeError);
    expect(() => RetryPolicy.compile({ backoffMultiplier: 0.5 })).toThrow(RangeError);
  });

  it("knows its transport's wire keys, and parses a pushback", () => {
    const http = RetryPolicy.compile(true)!;
    expect([http.attemptKey, http.pushbackKey]).toEqual(['request-attempt', 'retry-pushback-ms']);
    const grpc = RetryPolicy.compile(true, 'grpc')!;
    expect([grpc.attemptKey, grpc.pushbackKey]).toEqual(['grpc-previous-rpc-attempts', 'grpc-retry-pushback-ms']);
    expect(RetryPolicy.keysOf('grpc')).toEqual({ attemptKey: grpc.attemptKey, pushbackKey: grpc.pushbackKey });
    expect(['-1', '250', '1.5', 'soon', null, undefined].map((v) => http.pushbackMs(v))).toEqual([-1, 250, undefined, undefined, undefined, undefined]);
  });
});

describe('RetryRun', () => {
  const policy = RetryPolicy.compile({ maxAttempts: 3, initialBackoffMs: 100, maxBackoffMs: 150, attemptTimeoutMs: 200, minAttemptMs: 20 })!;

  it('gives each attempt its timeout and the last one all that is left', () => {
    const run = policy.run(undefined, 10_000);
    expect(run.attemptDeadline(0)).toBe(200);
    expect(run.next(true, undefined, 200)).toBeLessThan(100);
    expect(run.attemptDeadline(300)).toBe(500);
    expect(run.next(true, undefined, 500)).toBeLessThan(150);
    expect(run.attemptDeadline(600)).toBe(10_000);
    expect(run.next(true, undefined, 700)).toBeUndefined();
  });

  it('starts no attempt that cannot get minAttemptMs, and gives a too-short attempt everything', () => {
    const run = policy.run(undefined, 210);
    // 200 ms of own timeout would leave under 20 ms for a retry: this attempt gets all 210.
    expect(run.attemptDeadline(0)).toBe(210);
    expect(run.next(true, undefined, 195)).toBeUndefined();
  });

  it('does not retry what is not retryable, obeys pushback, and marks the request when it gives up', () => {
    const ctx = createContext();
    const run = policy.run(ctx, undefined);
    expect(run.next(false, undefined, 0)).toBeUndefined();
    expect(RetryPolicy.spent(ctx)).toBe(false);
    expect(run.next(true, 1234, 0)).toBe(1234);
    expect(run.next(true, -1, 0)).toBeUndefined();
    expect(RetryPolicy.spent(ctx)).toBe(true);
  });

  it('makes one attempt for a request that is itself a retry (request-attempt > 0); a malformed count is dropped', () => {
    const extract = compileExtractor();
    const retried = extract(nodeHeadersGetter, { 'request-attempt': '2' });
    expect(policy.run(retried, undefined).allowed).toBe(1);
    const drops: string[] = [];
    const bad = compileExtractor({ onDrop: (d) => drops.push(d.key) })(nodeHeadersGetter, { 'request-attempt': 'x' });
    expect(policy.run(bad, undefined).allowed).toBe(3);
    expect(drops).toEqual(['request-attempt']);
  });
});
