import { Status, type StatusCode } from './status.js';

// A brand instead of the prototype chain, so `instanceof` holds across two loaded copies
// of this package (ESM and CJS, or two versions).
const BRAND = Symbol.for('ctxkit.error');

/** The stable `code` of every error ctxkit raises. */
export type CtxkitErrorCode = 'DEADLINE_EXCEEDED' | 'CANCELLED' | 'SHUTDOWN' | 'NO_CONTEXT' | 'INVALID_METADATA';

/**
 * The base of every error ctxkit raises: a stable `code`, the gRPC status and the HTTP status
 * that error means on the wire.
 */
export abstract class CtxkitError extends Error {
  /** Stable machine-readable code, e.g. `'DEADLINE_EXCEEDED'`. */
  abstract readonly code: CtxkitErrorCode;
  /** The gRPC status code this error maps to. */
  abstract readonly grpcCode: StatusCode;
  /** The HTTP status this error maps to. */
  abstract readonly httpStatus: number;

  static override [Symbol.hasInstance](value: unknown): boolean {
    if (typeof value !== 'object' || value === null) return false;
    const brand = (value as Record<symbol, unknown>)[BRAND];
    if (brand === undefined) return false;
    // `this` is the class `instanceof` was asked about: a subclass checks its own brand.
    // biome-ignore lint/complexity/noThisInStatic: the subclass, not CtxkitError, is meant.
    const want = (this as unknown as { brand?: string }).brand;
    return want === undefined || want === brand;
  }

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

function brand(error: CtxkitError, code: CtxkitErrorCode): void {
  Object.defineProperty(error, BRAND, { value: code });
}

/**
 * The context's deadline passed. gRPC `DEADLINE_EXCEEDED`, HTTP 504.
 * It is the `reason` of a context signal aborted by its deadline.
 */
export class DeadlineExceededError extends CtxkitError {
  static readonly brand = 'DEADLINE_EXCEEDED';
  readonly code = 'DEADLINE_EXCEEDED';
  readonly grpcCode = Status.DEADLINE_EXCEEDED;
  readonly httpStatus = 504;
  constructor(message = 'deadline exceeded', options?: ErrorOptions) {
    super(message, options);
    brand(this, this.code);
  }
}

/**
 * The context was cancelled (the caller went away or code cancelled it).
 * gRPC `CANCELLED`, HTTP 499. It is the `reason` of a context signal aborted by cancellation.
 */
export class CancelledError extends CtxkitError {
  static readonly brand = 'CANCELLED';
  readonly code = 'CANCELLED';
  readonly grpcCode = Status.CANCELLED;
  readonly httpStatus = 499;
  constructor(message = 'cancelled', options?: ErrorOptions) {
    super(message, options);
    brand(this, this.code);
  }
}

/**
 * The server serving this context is shutting down and its drain budget ran out: the work was
 * cancelled, not refused for a fault of the caller's. gRPC `UNAVAILABLE`, HTTP 503, which a
 * retry policy treats as retryable (on another replica). It is the `reason` of a context signal
 * aborted by a drain ({@link LiveContexts.drain}).
 */
export class ShutdownError extends CtxkitError {
  static readonly brand = 'SHUTDOWN';
  readonly code = 'SHUTDOWN';
  readonly grpcCode = Status.UNAVAILABLE;
  readonly httpStatus = 503;
  constructor(message = 'the server is shutting down', options?: ErrorOptions) {
    super(message, options);
    brand(this, this.code);
  }
}

/**
 * `currentContext()` was called where no request context is active. A programmer error:
 * gRPC `INTERNAL`, HTTP 500.
 */
export class NoContextError extends CtxkitError {
  static readonly brand = 'NO_CONTEXT';
  readonly code = 'NO_CONTEXT';
  readonly grpcCode = Status.INTERNAL;
  readonly httpStatus = 500;
  constructor(
    message = 'No ctxkit request context is active here. Requests get one from an adapter ' +
      '(@ctxkit/fastify, @ctxkit/express, @ctxkit/grpc server side); other code can start one ' +
      'with runWithContext(createContext(), fn). Callback-based libraries lose the context: ' +
      'wrap their callbacks with bindContext(fn).',
  ) {
    super(message);
    brand(this, this.code);
  }
}

/**
 * Code tried to declare a key or set a value that cannot go on the wire. A programmer error,
 * thrown where the key is declared or the value is set: gRPC `INTERNAL`, HTTP 500.
 */
export class InvalidMetadataError extends CtxkitError {
  static readonly brand = 'INVALID_METADATA';
  readonly code = 'INVALID_METADATA';
  readonly grpcCode = Status.INTERNAL;
  readonly httpStatus = 500;
  /** The key concerned, as given. */
  readonly key: string;
  constructor(key: string, rule: string) {
    super(`ctxkit: invalid metadata "${printable(key)}": ${rule}`);
    this.key = key;
    brand(this, this.code);
  }
}

/** Renders untrusted text safely inside an error message. */
export function printable(text: string, max = 64): string {
  const cut = text.length > max ? `${text.slice(0, max)}…(${text.length} chars)` : text;
  return cut.replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
