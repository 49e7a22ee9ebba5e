import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { HopReport as _ctxkit_examples_inventory_v1_HopReport, HopReport__Output as _ctxkit_examples_inventory_v1_HopReport__Output } from './ctxkit/examples/inventory/v1/HopReport';
import type { InventoryClient as _ctxkit_examples_inventory_v1_InventoryClient, InventoryDefinition as _ctxkit_examples_inventory_v1_InventoryDefinition } from './ctxkit/examples/inventory/v1/Inventory';
import type { ReserveReply as _ctxkit_examples_inventory_v1_ReserveReply, ReserveReply__Output as _ctxkit_examples_inventory_v1_ReserveReply__Output } from './ctxkit/examples/inventory/v1/ReserveReply';
import type { ReserveRequest as _ctxkit_examples_inventory_v1_ReserveRequest, ReserveRequest__Output as _ctxkit_examples_inventory_v1_ReserveRequest__Output } from './ctxkit/examples/inventory/v1/ReserveRequest';
import type { StockLevel as _ctxkit_examples_inventory_v1_StockLevel, StockLevel__Output as _ctxkit_examples_inventory_v1_StockLevel__Output } from './ctxkit/examples/inventory/v1/StockLevel';
import type { WatchStockRequest as _ctxkit_examples_inventory_v1_WatchStockRequest, WatchStockRequest__Output as _ctxkit_examples_inventory_v1_WatchStockRequest__Output } from './ctxkit/examples/inventory/v1/WatchStockRequest';

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
    }
  }
}

