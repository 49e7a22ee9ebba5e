import { createContext, runWithContext } from '@ctxkit/core';
import { Status } from '@ctxkit/grpc';
import { afterAll, describe, expect, it } from 'vitest';
import { pool } from './clients.ts';
import type { HopRecorder } from '@ctxkit-examples/shared';
import { createOrder, getOrder } from './orders.ts';

afterAll(() => pool.close());

const hop: HopRecorder = {
  child: () => {},
  snapshot: () => {
    throw new Error('not reached');
  },
};
const as = <T>(userId: string | undefined, fn: () => Promise<T> | T) => {
  const ctx = createContext({ userId, timeoutMs: 5000 });
  return runWithContext(ctx, async () => fn()).finally(() => ctx.end());
};
const noWork = { inventory: 0, billing: 0 };

describe('orders rules, checked before any downstream call', () => {
  it('refuses a request with no user: the user comes from the context, not from a parameter', async () => {
    await expect(as(undefined, () => createOrder('book', 1, noWork, hop))).rejects.toMatchObject({ code: Status.UNAUTHENTICATED });
  });

  it('refuses an unknown item with NOT_FOUND', async () => {
    await expect(as('alice', () => createOrder('kettle', 1, noWork, hop))).rejects.toMatchObject({ code: Status.NOT_FOUND });
  });

  it('answers NOT_FOUND for an order that does not exist', async () => {
    await expect(as('alice', () => getOrder('ord-404'))).rejects.toMatchObject({ code: Status.NOT_FOUND });
  });
});
