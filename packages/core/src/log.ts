import { als } from './storage.js';

/** The ids a log line carries. */
export interface LogFields {
  'trace-id'?: string;
  'request-id'?: string;
  'user-id'?: string;
}

/**
 * The current request's `trace-id`, `request-id` and `user-id` (when known) for a log line;
 * an empty object outside any request. Never throws.
 */
export function logFields(): LogFields {
  const ctx = als.getStore();
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
  return logFields;
}
