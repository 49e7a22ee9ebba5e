import { fileURLToPath } from 'node:url';
import { loadPackageDefinition } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import type { ProtoGrpcType as InventoryProto } from '../gen/inventory.ts';
import type { ProtoGrpcType as OrdersProto } from '../gen/orders.ts';
import { LOADER_OPTIONS } from './options.ts';

export type { HopReport, HopReport__Output } from '../gen/ctxkit/examples/inventory/v1/HopReport.ts';
export type { InventoryClient, InventoryHandlers } from '../gen/ctxkit/examples/inventory/v1/Inventory.ts';
export type { ReserveRequest } from '../gen/ctxkit/examples/inventory/v1/ReserveRequest.ts';
export type { ReserveReply__Output } from '../gen/ctxkit/examples/inventory/v1/ReserveReply.ts';
export type { StockLevel__Output } from '../gen/ctxkit/examples/inventory/v1/StockLevel.ts';
export type { WatchStockRequest } from '../gen/ctxkit/examples/inventory/v1/WatchStockRequest.ts';
export type { OrdersClient, OrdersHandlers } from '../gen/ctxkit/examples/orders/v1/Orders.ts';
export type { Order__Output } from '../gen/ctxkit/examples/orders/v1/Order.ts';
export { LOADER_OPTIONS };

/** The folder of the .proto files, for loaders given a file name (Nest's gRPC transport). */
export const protoDir = fileURLToPath(new URL('../proto/', import.meta.url));

/** Loads the shop's gRPC packages, typed by the generated code. */
export function loadApi(): { inventory: InventoryProto['ctxkit']['examples']['inventory']['v1']; orders: OrdersProto['ctxkit']['examples']['orders']['v1'] } {
  const definition = loadSync(['orders.proto', 'inventory.proto'], { ...LOADER_OPTIONS, includeDirs: [protoDir] });
  const proto = loadPackageDefinition(definition) as unknown as OrdersProto & InventoryProto;
  return { inventory: proto.ctxkit.examples.inventory.v1, orders: proto.ctxkit.examples.orders.v1 };
}
