// Original file: proto/inventory.proto

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
  /**
   * gRPC status name the hop ended with, e.g. OK, DEADLINE_EXCEEDED, CANCELLED.
   */
  'status'?: (string);
  'children'?: (_ctxkit_examples_inventory_v1_HopReport)[];
  'requestId'?: (string);
  /**
   * When the hop's context aborted (epoch ms); 0 when it never did.
   */
  'abortedAtMs'?: (number | string | Long);
  /**
   * Why it aborted: DEADLINE_EXCEEDED or CANCELLED; empty when it never did.
   */
  'abortReason'?: (string);
  /**
   * Every propagated key the hop's context carried, in wire form.
   */
  'metadata'?: ({[key: string]: string});
  /**
   * Incoming values the hop refused ("key: reason"): the public edge reports hostile headers here.
   */
  'dropped'?: (string)[];
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
  /**
   * gRPC status name the hop ended with, e.g. OK, DEADLINE_EXCEEDED, CANCELLED.
   */
  'status': (string);
  'children': (_ctxkit_examples_inventory_v1_HopReport__Output)[];
  'requestId': (string);
  /**
   * When the hop's context aborted (epoch ms); 0 when it never did.
   */
  'abortedAtMs': (number);
  /**
   * Why it aborted: DEADLINE_EXCEEDED or CANCELLED; empty when it never did.
   */
  'abortReason': (string);
  /**
   * Every propagated key the hop's context carried, in wire form.
   */
  'metadata': ({[key: string]: string});
  /**
   * Incoming values the hop refused ("key: reason"): the public edge reports hostile headers here.
   */
  'dropped': (string)[];
}
