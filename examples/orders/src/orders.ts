import { currentContext } from '@ctxkit/core';
import { Status, statusError } from '@ctxkit/grpc';
import { chargeOrder, orderCreated, reserveStock } from './clients.ts';
import type { HopRecorder } from '@ctxkit-examples/shared';
import { log } from './log.ts';

/** An order as this service keeps it. */
export interface Order {
  readonly orderId: string;
  readonly userId: string;
  readonly sku: string;
  readonly quantity: number;
  readonly reservationId: string;
  readonly invoiceId: string;
}

const PRICES_CENTS = new Map([
  ['book', 1200],
  ['mug', 800],
]);
const orders = new Map<string, Order>();
let created = 0;

/** What the demo may ask each hop to spend, in ms. */
export interface WorkMs {
  readonly inventory: number;
  readonly billing: number;
}

/**
 * Places an order for the current user: reserves the stock, then charges it.
 * @throws StatusError UNAUTHENTICATED, NOT_FOUND, or what inventory and billing answered.
 */
export async function createOrder(sku: string, quantity: number, work: WorkMs, hop: HopRecorder): Promise<Order> {
  // No parameter carries the user: the request's context does, from the gateway's auth.
  const userId = currentContext().userId;
  if (userId === undefined) throw statusError(Status.UNAUTHENTICATED, 'no user on the request');
  const price = PRICES_CENTS.get(sku);
  if (price === undefined) throw statusError(Status.NOT_FOUND, `no such item: ${sku}`);
  const orderId = `ord-${++created}`;
  const reservation = await reserveStock(orderId, sku, quantity, work.inventory);
  hop.child(reservation.hop);
  const invoice = await chargeOrder(orderId, price * quantity, work.billing);
  hop.child(invoice.hop);
  const order: Order = { orderId, userId, sku, quantity, reservationId: reservation.reservationId, invoiceId: invoice.invoiceId };
  orders.set(orderId, order);
  orderCreated(orderId, sku); // fulfilment sends the receipt, after this request is answered
  log.info({ orderId }, 'order created');
  return order;
}

/**
 * The current user's order `orderId`.
 * @throws StatusError NOT_FOUND when there is none (or it is someone else's).
 */
export function getOrder(orderId: string): Order {
  const order = orders.get(orderId);
  if (order === undefined || order.userId !== currentContext().userId) {
    throw statusError(Status.NOT_FOUND, `no order ${orderId}`);
  }
  return order;
}
