// Original file: proto/inventory.proto

import type { HopReport as _ctxkit_examples_inventory_v1_HopReport, HopReport__Output as _ctxkit_examples_inventory_v1_HopReport__Output } from '../../../../ctxkit/examples/inventory/v1/HopReport';

export interface ReserveReply {
  'reservationId'?: (string);
  'hop'?: (_ctxkit_examples_inventory_v1_HopReport | null);
}

export interface ReserveReply__Output {
  'reservationId': (string);
  'hop': (_ctxkit_examples_inventory_v1_HopReport__Output | null);
}
