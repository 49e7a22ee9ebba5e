// Original file: proto/inventory.proto


export interface StockLevel {
  'sku'?: (string);
  'available'?: (number);
}

export interface StockLevel__Output {
  'sku': (string);
  'available': (number);
}
