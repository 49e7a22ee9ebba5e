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
const FUTURE = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const DASH = 45;
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
  if (!isVersion00(value)) return parseOther(value, onReject);
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
  return id.length === 32 && id !== ZERO_TRACE && isLowerHex(id, 0, 32);
}

// Every request's header and every outgoing call's id is checked: a loop over the fixed offsets
// costs less than a regex match (measured in the micro bench's extract cases).
/** Whether `value` is `00-<32 hex>-<16 hex>-<2 hex>`, lowercase, exactly 55 characters. */
function isVersion00(value: string): boolean {
  return (
    value.length === 55 &&
    value.charCodeAt(0) === 48 &&
    value.charCodeAt(1) === 48 &&
    value.charCodeAt(2) === DASH &&
    value.charCodeAt(35) === DASH &&
    value.charCodeAt(52) === DASH &&
    isLowerHex(value, 3, 35) &&
    isLowerHex(value, 36, 52) &&
    isLowerHex(value, 53, 55)
  );
}

/** Whether every character of `s` in [from, to) is 0-9 or a-f. */
function isLowerHex(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || (c > 57 && c < 97) || c > 102) return false;
  }
  return true;
}
