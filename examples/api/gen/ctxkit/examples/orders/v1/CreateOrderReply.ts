// Original file: proto/orders.proto

import type { Order as _ctxkit_examples_orders_v1_Order, Order__Output as _ctxkit_examples_orders_v1_Order__Output } from '../../../../ctxkit/examples/orders/v1/Order';
import type { HopReport as _ctxkit_examples_inventory_v1_HopReport, HopReport__Output as _ctxkit_examples_inventory_v1_HopReport__Output } from '../../../../ctxkit/examples/inventory/v1/HopReport';

export interface CreateOrderReply {
  'order'?: (_ctxkit_examples_orders_v1_Order | null);
  'hop'?: (_ctxkit_examples_inventory_v1_HopReport | null);
}

export interface CreateOrderReply__Output {
  'order': (_ctxkit_examples_orders_v1_Order__Output | null);
  'hop': (_ctxkit_examples_inventory_v1_HopReport__Output | null);
}
