/**
 * gRPC status codes, by number, so that HTTP adapters can map a downstream gRPC error
 * without importing grpc-js. Values from https://grpc.github.io/grpc/core/md_doc_statuscodes.html
 */
export const Status = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

/** A gRPC status code number (0–16). */
export type StatusCode = (typeof Status)[keyof typeof Status];

/** A gRPC status code name, such as `'NOT_FOUND'`. */
export type StatusName = keyof typeof Status;

const NAMES: readonly StatusName[] = Object.keys(Status) as StatusName[];

// The table grpc-gateway uses (runtime/errors.go HTTPStatusFromCode), indexed by code.
const HTTP_BY_CODE: readonly number[] = [
  200, 499, 500, 400, 504, 404, 409, 403, 429, 400, 409, 400, 501, 500, 503, 500, 401,
];

/**
 * Maps a gRPC status code to the HTTP status grpc-gateway uses for it.
 * An unknown code maps to 500.
 *
 * @example toHttpStatus(Status.NOT_FOUND) // 404
 */
export function toHttpStatus(code: number): number {
  return HTTP_BY_CODE[code] ?? 500;
}

/** The name of a gRPC status code, or `'UNKNOWN'` for a number outside 0–16. */
export function statusName(code: number): StatusName {
  return NAMES[code] ?? 'UNKNOWN';
}
