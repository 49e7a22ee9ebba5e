// Original file: proto/orders.proto


export interface CreateOrderRequest {
  'sku'?: (string);
  'quantity'?: (number);
  /**
   * Test hook for the demo: work the inventory hop does, ms.
   */
  'inventoryWorkMs'?: (number);
  /**
   * Test hook for the demo: work the billing hop does, ms.
   */
  'billingWorkMs'?: (number);
}

export interface CreateOrderRequest__Output {
  'sku': (string);
  'quantity': (number);
  /**
   * Test hook for the demo: work the inventory hop does, ms.
   */
  'inventoryWorkMs': (number);
  /**
   * Test hook for the demo: work the billing hop does, ms.
   */
  'billingWorkMs': (number);
}
