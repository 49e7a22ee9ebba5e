// Original file: /work/main/examples/api/proto/inventory.proto


export interface StockLevel {
  'sku'?: (string);
  'available'?: (number);
}

export interface StockLevel__Output {
  'sku': (string);
  'available': (number);
}
