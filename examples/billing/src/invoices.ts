import { setTimeout as sleep } from 'node:timers/promises';
import { currentContext } from '@ctxkit/core';

let issued = 0;

/** A charge the orders service asks for. */
export interface Charge {
  readonly orderId: string;
  readonly amountCents: number;
  /** Demo knob: how long the payment provider takes, ms. */
  readonly workMs: number;
}

/** Reads a charge from a JSON body; `undefined` when it is not one. */
export function parseCharge(body: unknown): Charge | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const { orderId, amountCents, workMs = 0 } = body as Record<string, unknown>;
  if (typeof orderId !== 'string' || !/^[\w-]{1,64}$/.test(orderId)) return undefined;
  if (!Number.isInteger(amountCents) || (amountCents as number) <= 0) return undefined;
  if (!Number.isInteger(workMs) || (workMs as number) < 0 || (workMs as number) > 10_000) return undefined;
  return { orderId, amountCents: amountCents as number, workMs: workMs as number };
}

/**
 * Issues the invoice of a charge. The wait for the (pretend) payment provider honours the
 * request's signal: when orders gives up, or the budget runs out, billing stops too.
 * @throws the context's abort reason (`DeadlineExceededError`, `CancelledError`).
 */
export async function issueInvoice(charge: Charge): Promise<string> {
  if (charge.workMs > 0) {
    const { signal } = currentContext();
    try {
      await sleep(charge.workMs, undefined, { signal });
    } catch (error) {
      signal.throwIfAborted();
      throw error;
    }
  }
  return `inv-${++issued}`;
}
