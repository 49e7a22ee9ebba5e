// Original file: proto/orders.proto


export interface Order {
  'orderId'?: (string);
  'userId'?: (string);
  'sku'?: (string);
  'quantity'?: (number);
  'reservationId'?: (string);
  'invoiceId'?: (string);
}

export interface Order__Output {
  'orderId': (string);
  'userId': (string);
  'sku': (string);
  'quantity': (number);
  'reservationId': (string);
  'invoiceId': (string);
}
