import { clientInterceptor } from '@ctxkit/grpc';
import { LOADER_OPTIONS, protoDir, type ReserveReply__Output, type ReserveRequest, type StockLevel__Output, type WatchStockRequest } from '@ctxkit-examples/api';
import { ClientsModule, Transport } from '@nestjs/microservices';
import type { Observable } from 'rxjs';

/** The injection token of the inventory client. */
export const INVENTORY = 'INVENTORY';

/** The inventory service as Nest's `ClientGrpc` serves it: one Observable per call. */
export interface InventoryService {
  reserve(request: ReserveRequest): Observable<ReserveReply__Output>;
  watchStock(request: WatchStockRequest): Observable<StockLevel__Output>;
}

/**
 * Nest's own gRPC client for the inventory service, with ctxkit's client interceptor through
 * `channelOptions`: every call carries the request's ids, its remaining budget as the gRPC
 * deadline, and is cancelled when the request is.
 */
export function inventoryClient(url: string) {
  return ClientsModule.register([
    {
      name: INVENTORY,
      transport: Transport.GRPC,
      options: {
        package: 'ctxkit.examples.inventory.v1',
        protoPath: 'inventory.proto',
        loader: { ...LOADER_OPTIONS, includeDirs: [protoDir] },
        url,
        channelOptions: { interceptors: [clientInterceptor()] },
      },
    },
  ]);
}
