// Original file: /work/main/examples/api/proto/inventory.proto

import type { HopReport as _ctxkit_examples_inventory_v1_HopReport, HopReport__Output as _ctxkit_examples_inventory_v1_HopReport__Output } from '../../../../ctxkit/examples/inventory/v1/HopReport';
import type { Long } from '@grpc/proto-loader';

/**
 * What one service saw of the request context: the demo draws these as a waterfall.
 */
export interface HopReport {
  'service'?: (string);
  'traceId'?: (string);
  'userId'?: (string);
  /**
   * Remaining budget when the request arrived, ms; -1 when there was no deadline.
   */
  'budgetAtArrivalMs'?: (number | string | Long);
  'startedAtMs'?: (number | string | Long);
  'durationMs'?: (number | string | Long);
  'status'?: (string);
  'children'?: (_ctxkit_examples_inventory_v1_HopReport)[];
}

/**
 * What one service saw of the request context: the demo draws these as a waterfall.
 */
export interface HopReport__Output {
  'service': (string);
  'traceId': (string);
  'userId': (string);
  /**
   * Remaining budget when the request arrived, ms; -1 when there was no deadline.
   */
  'budgetAtArrivalMs': (number);
  'startedAtMs': (number);
  'durationMs': (number);
  'status': (string);
  'children': (_ctxkit_examples_inventory_v1_HopReport__Output)[];
}
