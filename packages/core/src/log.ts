import type { RequestContext } from './context.js';
import { als } from './storage.js';

/** The ids a log line carries, under the default field names. */
export interface LogFields {
  'trace-id'?: string;
  /** A legacy trace id received beside the W3C one (a UUID `x-request-id`, an opaque `trace-id`). */
  'legacy-trace-id'?: string;
  'request-id'?: string;
  'user-id'?: string;
}

/**
 * Field names for the ids in log lines. Defaults `trace-id`, `legacy-trace-id`, `request-id`,
 * `user-id`. Rename to match what the rest of your logs use, e.g. `{ traceId: 'trace_id' }`
 * beside OpenTelemetry's pino instrumentation, so that no line carries one id under two names.
 */
export interface LogFieldNames {
  readonly traceId?: string | undefined;
  readonly legacyTraceId?: string | undefined;
  readonly requestId?: string | undefined;
  readonly userId?: string | undefined;
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
 * Builds, once, a {@link logFields} that writes the ids under `names`.
 *
 * @throws TypeError (at creation) for an empty field name.
 * @example
 * const fields = createLogFields({ traceId: 'trace_id', requestId: 'request_id', userId: 'user_id' });
 * log.info(fields(), 'charged'); // { trace_id, request_id, user_id }
 */
export function createLogFields(names: LogFieldNames = {}): (ctx?: RequestContext) => Record<string, string> {
  const { traceId, legacyTraceId, requestId, userId } = resolveLogFieldNames(names);
  if (traceId === 'trace-id' && legacyTraceId === 'legacy-trace-id' && requestId === 'request-id' && userId === 'user-id') {
    return logFields as (ctx?: RequestContext) => Record<string, string>;
  }
  return function namedLogFields(ctx = als.getStore()) {
    if (ctx === undefined) return {};
    const out: Record<string, string> = { [traceId]: ctx.traceId, [requestId]: ctx.requestId };
    if (ctx.legacyTraceId !== undefined) out[legacyTraceId] = ctx.legacyTraceId;
    if (ctx.userId !== undefined) out[userId] = ctx.userId;
    return out;
  };
}

/** The field names, defaults filled in and checked. @internal */
export function resolveLogFieldNames(names: LogFieldNames = {}): {
  traceId: string;
  legacyTraceId: string;
  requestId: string;
  userId: string;
} {
  const resolved = {
    traceId: names.traceId ?? 'trace-id',
    legacyTraceId: names.legacyTraceId ?? 'legacy-trace-id',
    requestId: names.requestId ?? 'request-id',
    userId: names.userId ?? 'user-id',
  };
  for (const [option, name] of Object.entries(resolved)) {
    if (typeof name !== 'string' || name === '') throw new TypeError(`ctxkit: log field name for ${option} must be a non-empty string`);
  }
  return resolved;
}

/**
 * A pino `mixin` that adds {@link logFields} to every line, under `fieldNames` when given.
 *
 * @example
 * const log = pino({ mixin: pinoMixin() });
 * const otelStyle = pino({ mixin: pinoMixin({ fieldNames: { traceId: 'trace_id' } }) });
 */
export function pinoMixin(options: { readonly fieldNames?: LogFieldNames | undefined } = {}): () => Record<string, string> {
  const fields = createLogFields(options.fieldNames);
  return () => fields();
}
