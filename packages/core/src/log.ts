import type { RequestContext } from './context.js';
import { als } from './storage.js';

/** The ids a log line carries. */
export interface LogFields {
  'trace-id'?: string;
  /** A legacy trace id received beside the W3C one (a UUID `x-request-id`, an opaque `trace-id`). */
  'legacy-trace-id'?: string;
  'request-id'?: string;
  'user-id'?: string;
}

/**
 * The W3C `trace-id`, the `legacy-trace-id` (when one came in), the `request-id` and the
 * `user-id` (when known) of `ctx`, by default the current request's, for a log line; an empty
 * object outside any request. Never throws.
 */
export function logFields(ctx: RequestContext | undefined = als.getStore()): LogFields {
  if (ctx === undefined) return {};
  const fields: LogFields = { 'trace-id': ctx.traceId, 'request-id': ctx.requestId };
  const legacy = ctx.legacyTraceId;
  if (legacy !== undefined) fields['legacy-trace-id'] = legacy;
  const userId = ctx.userId;
  if (userId !== undefined) fields['user-id'] = userId;
  return fields;
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
