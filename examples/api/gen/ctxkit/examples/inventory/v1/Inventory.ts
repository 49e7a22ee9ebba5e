// Original file: proto/inventory.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { ReserveReply as _ctxkit_examples_inventory_v1_ReserveReply, ReserveReply__Output as _ctxkit_examples_inventory_v1_ReserveReply__Output } from '../../../../ctxkit/examples/inventory/v1/ReserveReply';
import type { ReserveRequest as _ctxkit_examples_inventory_v1_ReserveRequest, ReserveRequest__Output as _ctxkit_examples_inventory_v1_ReserveRequest__Output } from '../../../../ctxkit/examples/inventory/v1/ReserveRequest';
import type { StockLevel as _ctxkit_examples_inventory_v1_StockLevel, StockLevel__Output as _ctxkit_examples_inventory_v1_StockLevel__Output } from '../../../../ctxkit/examples/inventory/v1/StockLevel';
import type { WatchStockRequest as _ctxkit_examples_inventory_v1_WatchStockRequest, WatchStockRequest__Output as _ctxkit_examples_inventory_v1_WatchStockRequest__Output } from '../../../../ctxkit/examples/inventory/v1/WatchStockRequest';

/**
 * Stock of the shop's items. Called by the orders service.
 */
export interface InventoryClient extends grpc.Client {
  /**
   * Reserves items for an order; fails with FAILED_PRECONDITION when out of stock.
   */
  Reserve(argument: _ctxkit_examples_inventory_v1_ReserveRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ctxkit_examples_inventory_v1_ReserveReply__Output>): grpc.ClientUnaryCall;
  Reserve(argument: _ctxkit_examples_inventory_v1_ReserveRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ctxkit_examples_inventory_v1_ReserveReply__Output>): grpc.ClientUnaryCall;
  Reserve(argument: _ctxkit_examples_inventory_v1_ReserveRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ctxkit_examples_inventory_v1_ReserveReply__Output>): grpc.ClientUnaryCall;
  Reserve(argument: _ctxkit_examples_inventory_v1_ReserveRequest, callback: grpc.requestCallback<_ctxkit_examples_inventory_v1_ReserveReply__Output>): grpc.ClientUnaryCall;
  /**
   * Reserves items for an order; fails with FAILED_PRECONDITION when out of stock.
   */
  reserve(argument: _ctxkit_examples_inventory_v1_ReserveRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ctxkit_examples_inventory_v1_ReserveReply__Output>): grpc.ClientUnaryCall;
  reserve(argument: _ctxkit_examples_inventory_v1_ReserveRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ctxkit_examples_inventory_v1_ReserveReply__Output>): grpc.ClientUnaryCall;
  reserve(argument: _ctxkit_examples_inventory_v1_ReserveRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ctxkit_examples_inventory_v1_ReserveReply__Output>): grpc.ClientUnaryCall;
  reserve(argument: _ctxkit_examples_inventory_v1_ReserveRequest, callback: grpc.requestCallback<_ctxkit_examples_inventory_v1_ReserveReply__Output>): grpc.ClientUnaryCall;
  
  /**
   * Streams the stock level of each item asked for.
   */
  WatchStock(argument: _ctxkit_examples_inventory_v1_WatchStockRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_ctxkit_examples_inventory_v1_StockLevel__Output>;
  WatchStock(argument: _ctxkit_examples_inventory_v1_WatchStockRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_ctxkit_examples_inventory_v1_StockLevel__Output>;
  /**
   * Streams the stock level of each item asked for.
   */
  watchStock(argument: _ctxkit_examples_inventory_v1_WatchStockRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_ctxkit_examples_inventory_v1_StockLevel__Output>;
  watchStock(argument: _ctxkit_examples_inventory_v1_WatchStockRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_ctxkit_examples_inventory_v1_StockLevel__Output>;
  
}

/**
 * Stock of the shop's items. Called by the orders service.
 */
export interface InventoryHandlers extends grpc.UntypedServiceImplementation {
  /**
   * Reserves items for an order; fails with FAILED_PRECONDITION when out of stock.
   */
  Reserve: grpc.handleUnaryCall<_ctxkit_examples_inventory_v1_ReserveRequest__Output, _ctxkit_examples_inventory_v1_ReserveReply>;
  
  /**
   * Streams the stock level of each item asked for.
   */
  WatchStock: grpc.handleServerStreamingCall<_ctxkit_examples_inventory_v1_WatchStockRequest__Output, _ctxkit_examples_inventory_v1_StockLevel>;
  
}

export interface InventoryDefinition extends grpc.ServiceDefinition {
  Reserve: MethodDefinition<_ctxkit_examples_inventory_v1_ReserveRequest, _ctxkit_examples_inventory_v1_ReserveReply, _ctxkit_examples_inventory_v1_ReserveRequest__Output, _ctxkit_examples_inventory_v1_ReserveReply__Output>
  WatchStock: MethodDefinition<_ctxkit_examples_inventory_v1_WatchStockRequest, _ctxkit_examples_inventory_v1_StockLevel, _ctxkit_examples_inventory_v1_WatchStockRequest__Output, _ctxkit_examples_inventory_v1_StockLevel__Output>
}
