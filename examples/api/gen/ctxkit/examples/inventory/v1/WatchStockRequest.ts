// Original file: proto/inventory.proto


export interface WatchStockRequest {
  'skus'?: (string)[];
}

export interface WatchStockRequest__Output {
  'skus': (string)[];
}
