// The clients this service calls. Business code calls these functions and nothing else: the
// pooled gRPC client's interceptor and the ctxkit fetch carry the request's ids, remaining budget
// and cancellation on every call.
import { credentials } from '@grpc/grpc-js';
import { ctxFetch } from '@ctxkit/core/fetch';
import { ClientPool, Status, type StatusName, statusError } from '@ctxkit/grpc';
import { type HopReport__Output, loadApi } from '@ctxkit-examples/api';
import { connect } from 'nats';
import { publish } from '@ctxkit/nats';

const INVENTORY_ADDR = process.env.INVENTORY_ADDR ?? '127.0.0.1:50052';
const BILLING_URL = process.env.BILLING_URL ?? 'http://127.0.0.1:3003';
const NATS_URL = process.env.NATS_URL;

/** The NATS connection for order events; none when no NATS_URL is set (events are then not sent). */
export const events = NATS_URL === undefined ? undefined : await connect({ servers: NATS_URL });

/**
 * Publishes `orders.created` (NATS). The event carries the request's ids and user, not its
 * budget: its consumers run after the order was answered.
 */
export function orderCreated(orderId: string, sku: string): void {
  if (events !== undefined) publish(events, 'orders.created', JSON.stringify({ orderId, sku }));
}

/** One client per service and target, with ctxkit's client interceptor and keepalive preset. */
export const pool = new ClientPool({ credentials: credentials.createInsecure() });
const inventory = pool.get(loadApi().inventory.Inventory, INVENTORY_ADDR);

/** What inventory answers to a reservation. */
export interface Reservation {
  readonly reservationId: string;
  readonly hop: HopReport__Output | null;
}

/** Reserves stock in the inventory service (gRPC). @throws its status error. */
export function reserveStock(orderId: string, sku: string, quantity: number, workMs: number): Promise<Reservation> {
  return new Promise((resolve, reject) => {
    inventory.Reserve({ orderId, sku, quantity, workMs }, (error, reply) => (error ? reject(error) : resolve(reply!)));
  });
}

/** What billing answers to a charge. */
export interface Invoice {
  readonly invoiceId: string;
  readonly hop: HopReport__Output | null;
}

/**
 * Charges an order in the legacy billing service (HTTP, JSON).
 * @throws a status error with billing's code; `DeadlineExceededError` or `CancelledError` when
 * the request's budget ran out or it was cancelled while billing worked.
 */
export async function chargeOrder(orderId: string, amountCents: number, workMs: number): Promise<Invoice> {
  const res = await ctxFetch(`${BILLING_URL}/invoices`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ orderId, amountCents, workMs }),
  });
  const body = (await res.json()) as Partial<Invoice> & { code?: string; message?: string };
  if (!res.ok) {
    // Billing answers errors as ctxkit's error body: { code: <gRPC status name>, message }.
    const code = Status[body.code as StatusName] ?? Status.UNAVAILABLE;
    throw statusError(code === Status.OK ? Status.UNKNOWN : code, `billing: ${body.message ?? res.status}`);
  }
  return { invoiceId: String(body.invoiceId), hop: body.hop ?? null };
}
