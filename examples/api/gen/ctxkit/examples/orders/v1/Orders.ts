// Original file: proto/orders.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { CreateOrderReply as _ctxkit_examples_orders_v1_CreateOrderReply, CreateOrderReply__Output as _ctxkit_examples_orders_v1_CreateOrderReply__Output } from '../../../../ctxkit/examples/orders/v1/CreateOrderReply';
import type { CreateOrderRequest as _ctxkit_examples_orders_v1_CreateOrderRequest, CreateOrderRequest__Output as _ctxkit_examples_orders_v1_CreateOrderRequest__Output } from '../../../../ctxkit/examples/orders/v1/CreateOrderRequest';
import type { GetOrderRequest as _ctxkit_examples_orders_v1_GetOrderRequest, GetOrderRequest__Output as _ctxkit_examples_orders_v1_GetOrderRequest__Output } from '../../../../ctxkit/examples/orders/v1/GetOrderRequest';
import type { Order as _ctxkit_examples_orders_v1_Order, Order__Output as _ctxkit_examples_orders_v1_Order__Output } from '../../../../ctxkit/examples/orders/v1/Order';

/**
 * Orders of the shop. Called by the gateway; calls inventory (gRPC) and billing (HTTP).
 */
export interface OrdersClient extends grpc.Client {
  CreateOrder(argument: _ctxkit_examples_orders_v1_CreateOrderRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ctxkit_examples_orders_v1_CreateOrderReply__Output>): grpc.ClientUnaryCall;
  CreateOrder(argument: _ctxkit_examples_orders_v1_CreateOrderRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ctxkit_examples_orders_v1_CreateOrderReply__Output>): grpc.ClientUnaryCall;
  CreateOrder(argument: _ctxkit_examples_orders_v1_CreateOrderRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ctxkit_examples_orders_v1_CreateOrderReply__Output>): grpc.ClientUnaryCall;
  CreateOrder(argument: _ctxkit_examples_orders_v1_CreateOrderRequest, callback: grpc.requestCallback<_ctxkit_examples_orders_v1_CreateOrderReply__Output>): grpc.ClientUnaryCall;
  createOrder(argument: _ctxkit_examples_orders_v1_CreateOrderRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ctxkit_examples_orders_v1_CreateOrderReply__Output>): grpc.ClientUnaryCall;
  createOrder(argument: _ctxkit_examples_orders_v1_CreateOrderRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ctxkit_examples_orders_v1_CreateOrderReply__Output>): grpc.ClientUnaryCall;
  createOrder(argument: _ctxkit_examples_orders_v1_CreateOrderRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ctxkit_examples_orders_v1_CreateOrderReply__Output>): grpc.ClientUnaryCall;
  createOrder(argument: _ctxkit_examples_orders_v1_CreateOrderRequest, callback: grpc.requestCallback<_ctxkit_examples_orders_v1_CreateOrderReply__Output>): grpc.ClientUnaryCall;
  
  GetOrder(argument: _ctxkit_examples_orders_v1_GetOrderRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ctxkit_examples_orders_v1_Order__Output>): grpc.ClientUnaryCall;
  GetOrder(argument: _ctxkit_examples_orders_v1_GetOrderRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ctxkit_examples_orders_v1_Order__Output>): grpc.ClientUnaryCall;
  GetOrder(argument: _ctxkit_examples_orders_v1_GetOrderRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ctxkit_examples_orders_v1_Order__Output>): grpc.ClientUnaryCall;
  GetOrder(argument: _ctxkit_examples_orders_v1_GetOrderRequest, callback: grpc.requestCallback<_ctxkit_examples_orders_v1_Order__Output>): grpc.ClientUnaryCall;
  getOrder(argument: _ctxkit_examples_orders_v1_GetOrderRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ctxkit_examples_orders_v1_Order__Output>): grpc.ClientUnaryCall;
  getOrder(argument: _ctxkit_examples_orders_v1_GetOrderRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ctxkit_examples_orders_v1_Order__Output>): grpc.ClientUnaryCall;
  getOrder(argument: _ctxkit_examples_orders_v1_GetOrderRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ctxkit_examples_orders_v1_Order__Output>): grpc.ClientUnaryCall;
  getOrder(argument: _ctxkit_examples_orders_v1_GetOrderRequest, callback: grpc.requestCallback<_ctxkit_examples_orders_v1_Order__Output>): grpc.ClientUnaryCall;
  
}

/**
 * Orders of the shop. Called by the gateway; calls inventory (gRPC) and billing (HTTP).
 */
export interface OrdersHandlers extends grpc.UntypedServiceImplementation {
  CreateOrder: grpc.handleUnaryCall<_ctxkit_examples_orders_v1_CreateOrderRequest__Output, _ctxkit_examples_orders_v1_CreateOrderReply>;
  
  GetOrder: grpc.handleUnaryCall<_ctxkit_examples_orders_v1_GetOrderRequest__Output, _ctxkit_examples_orders_v1_Order>;
  
}

export interface OrdersDefinition extends grpc.ServiceDefinition {
  CreateOrder: MethodDefinition<_ctxkit_examples_orders_v1_CreateOrderRequest, _ctxkit_examples_orders_v1_CreateOrderReply, _ctxkit_examples_orders_v1_CreateOrderRequest__Output, _ctxkit_examples_orders_v1_CreateOrderReply__Output>
  GetOrder: MethodDefinition<_ctxkit_examples_orders_v1_GetOrderRequest, _ctxkit_examples_orders_v1_Order, _ctxkit_examples_orders_v1_GetOrderRequest__Output, _ctxkit_examples_orders_v1_Order__Output>
}
