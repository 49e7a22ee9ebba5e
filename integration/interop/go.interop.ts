import { CancelledError, DeadlineExceededError } from '@ctxkit/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hex, relayChain } from './chains.ts';
import { closeAll, type Leaf, startLeaf } from './support/chain.ts';
import { goCall, startGoRelay } from './support/peers.ts';

describe('ctxkit edge → Go (grpc-go, otel-go) → ctxkit leaf', () => {
  relayChain((leaf) => startGoRelay(['-next', leaf]), {
    name: 'go',
    deadline: 'context deadline exceeded',
    cancelled: 'context canceled',
    readsTrace: true,
    roundsUpMs: () => 0,
  });
});

describe('Go client → ctxkit server', () => {
  let leaf: Leaf | undefined;
  beforeEach(async () => {
    leaf = await startLeaf();
  });
  afterEach(async () => {
    await closeAll(leaf);
    leaf = undefined;
  });
  const call = (...args: string[]) => goCall(['-target', leaf!.target, ...args]);

  it("reads otel-go's traceparent, the ids and the deadline", async () => {
    const requestId = `go-${hex(6)}`;
    const { result } = await call('-request-id', requestId, '-user-id', 'bob', '-timeout', '2s');
    expect(result).toMatchObject({ code: 0, servedBy: 'leaf' });
    const [v] = leaf!.views;
    expect(v!.traceId).toBe(result.traceId);
    expect(v!.requestId).toBe(requestId);
    expect(v!.userId).toBe('bob');
    expect(v!.remainingMs).toBeGreaterThan(0);
    expect(v!.remainingMs).toBeLessThanOrEqual(2000);
  });

  it("ends the server's context DEADLINE_EXCEEDED at the Go client's deadline", async () => {
    const { result } = await call('-action', 'hang', '-timeout', '300ms');
    expect(result).toMatchObject({ code: 4, codeName: 'DeadlineExceeded' });
    expect(leaf!.aborts[0] ?? (await leaf!.nextAbort())).toBeInstanceOf(DeadlineExceededError);
  });

  it("ends the server's context CANCELLED when the Go client cancels its ctx", async () => {
    const { result } = await call('-action', 'hang', '-timeout', '30s', '-cancel-after', '300ms');
    expect(result).toMatchObject({ code: 1, codeName: 'Canceled' });
    expect(leaf!.aborts[0] ?? (await leaf!.nextAbort())).toBeInstanceOf(CancelledError);
  });

  it('answers status errors as Go status codes, internal messages never', async () => {
    expect((await call('-action', 'notfound')).result).toMatchObject({ code: 5, message: 'no such sku' });
    const { result } = await call('-action', 'internal');
    expect(result.code).toBe(13);
    expect(String(result.message)).not.toMatch(/hunter2|10\.0\.0\.7/);
  });
});
