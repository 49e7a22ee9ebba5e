// Original file: proto/inventory.proto


export interface ReserveRequest {
  'orderId'?: (string);
  'sku'?: (string);
  'quantity'?: (number);
  /**
   * Test hook for the demo: how long the handler works before answering, in ms.
   */
  'workMs'?: (number);
}

export interface ReserveRequest__Output {
  'orderId': (string);
  'sku': (string);
  'quantity': (number);
  /**
   * Test hook for the demo: how long the handler works before answering, in ms.
   */
  'workMs': (number);
}
