/** The fields of a W3C `traceparent` header. */
export interface TraceParent {
  /** 32 lowercase hex digits, not all zeros. */
  readonly traceId: string;
  /** 16 lowercase hex digits, not all zeros: the caller's span. */
  readonly parentId: string;
  /** Trace flags; bit 0 is `sampled`. */
  readonly flags: number;
}

// https://www.w3.org/TR/trace-context-2/#traceparent-header-field-values
// version 00 is exactly 55 chars; a future version may append fields after a '-'.
// Tested, not exec'd: the fields sit at fixed offsets, and slicing them is cheaper than a match array.
const V00 = /^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;
const FUTURE = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const HEX32 = /^[0-9a-f]{32}$/;
// Compared as strings: cheaper than a regex for a value already known to be hex of that length.
const ZERO_TRACE = '00000000000000000000000000000000';
const ZERO_SPAN = '0000000000000000';

/**
 * Parses a `traceparent` header value by the W3C Trace Context rules (version 00, and higher
 * versions read as 00 where the spec says so). Never throws.
 *
 * @returns the fields, or `undefined` when the value is invalid (then the trace restarts);
 *   `onReject` is told why.
 */
export function parseTraceparent(
  value: string | undefined,
  onReject?: (reason: string) => void,
): TraceParent | undefined {
  if (value === undefined) return undefined;
  if (value.length !== 55 || !V00.test(value)) return parseOther(value, onReject);
  const traceId = value.slice(3, 35);
  const parentId = value.slice(36, 52);
  if (traceId === ZERO_TRACE || parentId === ZERO_SPAN) {
    onReject?.('all-zero trace id or parent id');
    return undefined;
  }
  return { traceId, parentId, flags: Number.parseInt(value.slice(53), 16) };
}

function parseOther(value: string, onReject?: (reason: string) => void): TraceParent | undefined {
  const m = value.length <= 512 ? FUTURE.exec(value) : null;
  if (m === null) {
    onReject?.('malformed traceparent');
    return undefined;
  }
  const version = m[1]!;
  // Version ff is forbidden; 00 must be exactly 55 characters (no trailing fields).
  if (version === 'ff' || version === '00') {
    onReject?.(version === 'ff' ? 'traceparent version ff is invalid' : 'traceparent 00 with extra fields');
    return undefined;
  }
  const traceId = m[2]!;
  const parentId = m[3]!;
  if (traceId === ZERO_TRACE || parentId === ZERO_SPAN) {
    onReject?.('all-zero trace id or parent id');
    return undefined;
  }
  return { traceId, parentId, flags: Number.parseInt(m[4]!, 16) };
}

/** Formats a version-00 `traceparent` header value. */
export function formatTraceparent(tp: TraceParent): string {
  const flags = (tp.flags & 0xff).toString(16).padStart(2, '0');
  return `00-${tp.traceId}-${tp.parentId}-${flags}`;
}

/** Whether `id` is a W3C trace id (32 lowercase hex digits, not all zeros). */
export function isW3CTraceId(id: string): boolean {
  return id.length === 32 && id !== ZERO_TRACE && HEX32.test(id);
}
