import { Metadata, type ServiceError, type StatusObject } from '@grpc/grpc-js';
import { CtxkitError, type StatusCode, type StatusName, Status } from '@ctxkit/core';
import { errorResponse, isStatusError } from '@ctxkit/core/adapter';

const BRAND = Symbol.for('ctxkit.grpc.statusError');

// `Status` lists the codes in order, 0 to 16: its keys are the names by number.
const NAMES = Object.keys(Status) as StatusName[];

/**
 * A gRPC status error, as `status.Errorf` builds in Go: what a handler throws (or passes to its
 * callback) to answer with a given code and message. It is a grpc-js `ServiceError`: `code`,
 * `details` (the message sent), `metadata` (sent as trailers).
 */
export class StatusError extends Error implements ServiceError {
  /** The gRPC status code. */
  readonly code: StatusCode;
  /** The status message the caller receives. */
  readonly details: string;
  /** Trailing metadata sent with the status. */
  readonly metadata: Metadata;

  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }

  constructor(code: StatusCode, message: string, details?: StatusDetails) {
    super(`${code} ${NAMES[code] ?? 'UNKNOWN'}: ${message}`, details?.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'StatusError';
    this.code = code;
    this.details = message;
    this.metadata = details?.metadata ?? new Metadata();
    Object.defineProperty(this, BRAND, { value: true });
  }
}

/** What a {@link statusError} carries besides its code and message. */
export interface StatusDetails {
  /** Trailing metadata to send with the status. */
  readonly metadata?: Metadata | undefined;
  /** The underlying error, kept for logs; never sent. */
  readonly cause?: unknown;
}

/**
 * Builds a gRPC status error to throw from a handler (or pass to its callback).
 *
 * @param code - a gRPC status code, e.g. `Status.NOT_FOUND`.
 * @param message - the status message the caller receives: write it for the caller.
 * @throws RangeError when `code` is not an integer from 1 to 16 (OK is not an error).
 * @example
 * throw statusError(Status.NOT_FOUND, `order ${id} not found`);
 */
export function statusError(code: StatusCode, message: string, details?: StatusDetails): StatusError {
  if (!Number.isInteger(code) || code < 1 || code > 16) {
    throw new RangeError(`ctxkit: statusError needs a gRPC status code from 1 to 16, got ${String(code)}`);
  }
  return new StatusError(code, message, details);
}

/** A status to send, and whether the error behind it is unexpected (log it). */
export interface MappedError {
  readonly status: StatusObject;
  readonly unexpected: boolean;
}

const INTERNAL_MESSAGE = 'internal error';

/**
 * Turns whatever a handler threw into the status sent: status errors keep their code and message
 * (trailers only when built by {@link statusError}: a downstream call's trailers stay there);
 * ctxkit errors map to their codes; other status errors (a failed downstream call) keep their code
 * and message unless the code is UNKNOWN, INTERNAL or DATA_LOSS; anything else becomes INTERNAL
 * with a generic message. For adapters of servers ctxkit does not build (NestJS's gRPC transport).
 */
export function toStatus(error: unknown): MappedError {
  if (error instanceof StatusError) {
    return { status: { code: error.code, details: error.details, metadata: error.metadata }, unexpected: false };
  }
  if (error instanceof CtxkitError) {
    const code = error.grpcCode;
    if (code === Status.INTERNAL) return internal();
    return { status: { code, details: error.message, metadata: new Metadata() }, unexpected: false };
  }
  if (isStatusError(error) && error.code !== Status.OK) {
    // A downstream call's error: its code goes on, its message only when it was meant for callers
    // (core's one rule: UNKNOWN, INTERNAL and DATA_LOSS describe the server's insides).
    if (errorResponse(error).internal) return internal();
    return { status: { code: error.code, details: error.details, metadata: new Metadata() }, unexpected: false };
  }
  return internal();
}

function internal(): MappedError {
  return { status: { code: Status.INTERNAL, details: INTERNAL_MESSAGE, metadata: new Metadata() }, unexpected: true };
}
