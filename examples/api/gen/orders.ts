import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { HopReport as _ctxkit_examples_inventory_v1_HopReport, HopReport__Output as _ctxkit_examples_inventory_v1_HopReport__Output } from './ctxkit/examples/inventory/v1/HopReport';
import type { InventoryClient as _ctxkit_examples_inventory_v1_InventoryClient, InventoryDefinition as _ctxkit_examples_inventory_v1_InventoryDefinition } from './ctxkit/examples/inventory/v1/Inventory';
import type { ReserveReply as _ctxkit_examples_inventory_v1_ReserveReply, ReserveReply__Output as _ctxkit_examples_inventory_v1_ReserveReply__Output } from './ctxkit/examples/inventory/v1/ReserveReply';
import type { ReserveRequest as _ctxkit_examples_inventory_v1_ReserveRequest, ReserveRequest__Output as _ctxkit_examples_inventory_v1_ReserveRequest__Output } from './ctxkit/examples/inventory/v1/ReserveRequest';
import type { StockLevel as _ctxkit_examples_inventory_v1_StockLevel, StockLevel__Output as _ctxkit_examples_inventory_v1_StockLevel__Output } from './ctxkit/examples/inventory/v1/StockLevel';
import type { WatchStockRequest as _ctxkit_examples_inventory_v1_WatchStockRequest, WatchStockRequest__Output as _ctxkit_examples_inventory_v1_WatchStockRequest__Output } from './ctxkit/examples/inventory/v1/WatchStockRequest';
import type { CreateOrderReply as _ctxkit_examples_orders_v1_CreateOrderReply, CreateOrderReply__Output as _ctxkit_examples_orders_v1_CreateOrderReply__Output } from './ctxkit/examples/orders/v1/CreateOrderReply';
import type { CreateOrderRequest as _ctxkit_examples_orders_v1_CreateOrderRequest, CreateOrderRequest__Output as _ctxkit_examples_orders_v1_CreateOrderRequest__Output } from './ctxkit/examples/orders/v1/CreateOrderRequest';
import type { GetOrderRequest as _ctxkit_examples_orders_v1_GetOrderRequest, GetOrderRequest__Output as _ctxkit_examples_orders_v1_GetOrderRequest__Output } from './ctxkit/examples/orders/v1/GetOrderRequest';
import type { Order as _ctxkit_examples_orders_v1_Order, Order__Output as _ctxkit_examples_orders_v1_Order__Output } from './ctxkit/examples/orders/v1/Order';
import type { OrdersClient as _ctxkit_examples_orders_v1_OrdersClient, OrdersDefinition as _ctxkit_examples_orders_v1_OrdersDefinition } from './ctxkit/examples/orders/v1/Orders';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  ctxkit: {
    examples: {
      inventory: {
        v1: {
          HopReport: MessageTypeDefinition<_ctxkit_examples_inventory_v1_HopReport, _ctxkit_examples_inventory_v1_HopReport__Output>
          /**
           * Stock of the shop's items. Called by the orders service.
           */
          Inventory: SubtypeConstructor<typeof grpc.Client, _ctxkit_examples_inventory_v1_InventoryClient> & { service: _ctxkit_examples_inventory_v1_InventoryDefinition }
          ReserveReply: MessageTypeDefinition<_ctxkit_examples_inventory_v1_ReserveReply, _ctxkit_examples_inventory_v1_ReserveReply__Output>
          ReserveRequest: MessageTypeDefinition<_ctxkit_examples_inventory_v1_ReserveRequest, _ctxkit_examples_inventory_v1_ReserveRequest__Output>
          StockLevel: MessageTypeDefinition<_ctxkit_examples_inventory_v1_StockLevel, _ctxkit_examples_inventory_v1_StockLevel__Output>
          WatchStockRequest: MessageTypeDefinition<_ctxkit_examples_inventory_v1_WatchStockRequest, _ctxkit_examples_inventory_v1_WatchStockRequest__Output>
        }
      }
      orders: {
        v1: {
          CreateOrderReply: MessageTypeDefinition<_ctxkit_examples_orders_v1_CreateOrderReply, _ctxkit_examples_orders_v1_CreateOrderReply__Output>
          CreateOrderRequest: MessageTypeDefinition<_ctxkit_examples_orders_v1_CreateOrderRequest, _ctxkit_examples_orders_v1_CreateOrderRequest__Output>
          GetOrderRequest: MessageTypeDefinition<_ctxkit_examples_orders_v1_GetOrderRequest, _ctxkit_examples_orders_v1_GetOrderRequest__Output>
          Order: MessageTypeDefinition<_ctxkit_examples_orders_v1_Order, _ctxkit_examples_orders_v1_Order__Output>
          /**
           * Orders of the shop. Called by the gateway; calls inventory (gRPC) and billing (HTTP).
           */
          Orders: SubtypeConstructor<typeof grpc.Client, _ctxkit_examples_orders_v1_OrdersClient> & { service: _ctxkit_examples_orders_v1_OrdersDefinition }
        }
      }
    }
  }
}

