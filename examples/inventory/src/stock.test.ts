import { createContext, DeadlineExceededError, runWithContext } from '@ctxkit/core';
import { Status } from '@ctxkit/grpc';
import { describe, expect, it } from 'vitest';
import { reserve } from './stock.ts';

const inRequest = <T>(fn: () => Promise<T>, timeoutMs?: number) => {
  const ctx = createContext({ userId: 'alice', timeoutMs });
  return runWithContext(ctx, fn).finally(() => ctx.end());
};

describe('reserve', () => {
  it('reserves what is in stock and refuses the rest with status errors', async () => {
    expect(await inRequest(() => reserve('mug', 2, 0))).toMatch(/^res-\d+$/);
    await expect(inRequest(() => reserve('mug', 2, 0))).rejects.toMatchObject({ code: Status.FAILED_PRECONDITION, details: 'only 1 mug left' });
    await expect(inRequest(() => reserve('kettle', 1, 0))).rejects.toMatchObject({ code: Status.NOT_FOUND });
    await expect(inRequest(() => reserve('book', 0, 0))).rejects.toMatchObject({ code: Status.INVALID_ARGUMENT });
  });

  it('stops its slow query when the request deadline passes, with the context reason', async () => {
    const error = await inRequest(() => reserve('book', 1, 10_000), 50).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeadlineExceededError);
  });
});
