import type { RequestContext } from './context.js';
import { als } from './storage.js';

/** The ids a log line carries. */
export interface LogFields {
  'trace-id'?: string;
  'request-id'?: string;
  'user-id'?: string;
}

/**
 * The `trace-id`, `request-id` and `user-id` (when known) of `ctx`, by default the current
 * request's, for a log line; an empty object outside any request. Never throws.
 */
export function logFields(ctx: RequestContext | undefined = als.getStore()): LogFields {
  if (ctx === undefined) return {};
  const userId = ctx.userId;
  return userId === undefined
    ? { 'trace-id': ctx.traceId, 'request-id': ctx.requestId }
    : { 'trace-id': ctx.traceId, 'request-id': ctx.requestId, 'user-id': userId };
}

/**
 * A pino `mixin` that adds {@link logFields} to every line.
 *
 * @example
 * const log = pino({ mixin: pinoMixin() });
 */
export function pinoMixin(): () => LogFields {
  return () => logFields();
}
