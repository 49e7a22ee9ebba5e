import { logFields, type RequestContext } from '@ctxkit/core';

/** The record logged when a handler fails with an unexpected error (answered as INTERNAL). */
export interface HandlerErrorRecord {
  readonly level: 'error';
  readonly msg: 'gRPC handler failed';
  /** The method path, e.g. `/shop.Orders/Get`, or the handler's name when the path is unknown. */
  readonly method: string;
  readonly 'trace-id'?: string | undefined;
  /** A legacy trace id received beside the W3C one, when there was one. */
  readonly 'legacy-trace-id'?: string | undefined;
  readonly 'request-id'?: string | undefined;
  readonly 'user-id'?: string | undefined;
  /** The error as thrown: never sent to the caller. */
  readonly error: unknown;
}

/** Receives the record of every unexpected handler error. */
export type ErrorLogger = (record: HandlerErrorRecord) => void;

/** The default {@link ErrorLogger}: one line of JSON on stderr through `console.error`. */
export const logJsonLine: ErrorLogger = (record) => {
  console.error(JSON.stringify({ ...record, error: describe(record.error) }));
};

function describe(error: unknown): unknown {
  if (error instanceof Error) return { name: error.name, message: error.message, stack: error.stack };
  return typeof error === 'object' ? error : String(error);
}

/** Builds the record for an error seen under `ctx`. @internal */
export function errorRecord(method: string, ctx: RequestContext | undefined, error: unknown): HandlerErrorRecord {
  // The ids as every ctxkit log line carries them (core's logFields).
  return { level: 'error', msg: 'gRPC handler failed', method, ...(ctx === undefined ? {} : logFields(ctx)), error };
}
