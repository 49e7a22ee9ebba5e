import { setTimeout as sleep } from 'node:timers/promises';
import { currentContext } from '@ctxkit/core';
import { Status, statusError } from '@ctxkit/grpc';

// The shop's stock, in memory: this is an example.
const stock = new Map<string, number>([
  ['book', 1000],
  ['mug', 3],
]);
let reservations = 0;

/**
 * Reserves `quantity` of `sku`. `workMs` stands for a slow database: the wait honours the
 * request's signal, so a deadline or a cancellation upstream stops it here.
 * @throws StatusError NOT_FOUND, INVALID_ARGUMENT or FAILED_PRECONDITION; the context's abort reason.
 */
export async function reserve(sku: string, quantity: number, workMs: number): Promise<string> {
  if (quantity <= 0) throw statusError(Status.INVALID_ARGUMENT, 'quantity must be positive');
  const available = stock.get(sku);
  if (available === undefined) throw statusError(Status.NOT_FOUND, `no such item: ${sku}`);
  if (workMs > 0) await slowQuery(workMs);
  if (available < quantity) throw statusError(Status.FAILED_PRECONDITION, `only ${available} ${sku} left`);
  stock.set(sku, available - quantity);
  return `res-${++reservations}`;
}

/** The stock level of each sku known. */
export function levels(skus: readonly string[]): { sku: string; available: number }[] {
  return skus.flatMap((sku) => {
    const available = stock.get(sku);
    return available === undefined ? [] : [{ sku, available }];
  });
}

async function slowQuery(ms: number): Promise<void> {
  const { signal } = currentContext();
  try {
    await sleep(ms, undefined, { signal });
  } catch (error) {
    // Node rejects with a generic AbortError: answer with the context's own reason instead.
    signal.throwIfAborted();
    throw error;
  }
}
