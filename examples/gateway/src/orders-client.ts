// The orders service, as the gateway's routes call it: a pooled gRPC client whose interceptor
// carries the request's context (ids, user, remaining budget, cancellation).
import { credentials } from '@grpc/grpc-js';
import { ClientPool } from '@ctxkit/grpc';
import { type HopReport__Output, loadApi, type Order__Output } from '@ctxkit-examples/api';

const ORDERS_ADDR = process.env.ORDERS_ADDR ?? '127.0.0.1:50051';

/** One client per service and target, with ctxkit's client interceptor and keepalive preset. */
export const pool = new ClientPool({ credentials: credentials.createInsecure() });
const orders = pool.get(loadApi().orders.Orders, ORDERS_ADDR);

/** What the demo may ask the hops below to spend, in ms. */
export interface NewOrder {
  readonly sku: string;
  readonly quantity: number;
  readonly inventoryWorkMs: number;
  readonly billingWorkMs: number;
}

/** Creates an order. @throws the gRPC status error orders answered. */
export function createOrder(order: NewOrder): Promise<{ order: Order__Output | null; hop: HopReport__Output | null }> {
  return new Promise((resolve, reject) => {
    orders.CreateOrder(order, (error, reply) => (error ? reject(error) : resolve(reply!)));
  });
}

/** Reads one of the current user's orders. @throws the gRPC status error orders answered (NOT_FOUND…). */
export function getOrder(orderId: string): Promise<Order__Output> {
  return new Promise((resolve, reject) => {
    orders.GetOrder({ orderId }, (error, reply) => (error ? reject(error) : resolve(reply!)));
  });
}
