/**
 * W3C `tracestate` (https://www.w3.org/TR/trace-context-2/#tracestate-header): validated,
 * combined across header lines, and cut to a forwardable size by whole entries only.
 */

/** Most list-members a tracestate may hold. */
const MAX_MEMBERS = 32;
/** ctxkit forwards at most this many characters (the spec asks vendors to propagate ≥ 512). */
const MAX_FORWARD = 512;
/** Entries longer than this are the first to go when cutting (spec: "larger than 128"). */
const LONG_ENTRY = 128;
/** Input beyond this is refused unread: no legitimate tracestate is near it. */
const MAX_INPUT = 8192;

// key = simple-key / multi-tenant-key; value = 0*255(chr) nblk-chr (printable, no ',' or '=').
const MEMBER =
  /^(?:[a-z][a-z0-9_\-*/]{0,255}|[a-z0-9][a-z0-9_\-*/]{0,240}@[a-z][a-z0-9_\-*/]{0,13})=[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;

/**
 * Parses one or several `tracestate` header values into the single value to forward.
 * Never throws.
 *
 * @returns the combined, validated value (entries in order, cut to 512 characters by whole
 *   entries, long ones first), `''` when there are no entries, or `undefined` when the header
 *   is invalid (then it is dropped whole; `onReject` says why).
 */
export function parseTracestate(
  value: string | readonly string[],
  onReject?: (reason: string) => void,
): string | undefined {
  const raw = typeof value === 'string' ? value : value.join(',');
  if (raw.length > MAX_INPUT) {
    onReject?.('tracestate too long');
    return undefined;
  }
  const members: string[] = [];
  const keys = new Set<string>();
  for (const part of raw.split(',')) {
    const member = part.replace(/^[ \t]+|[ \t]+$/g, '');
    if (member === '') continue;
    if (!MEMBER.test(member)) {
      onReject?.('malformed tracestate member');
      return undefined;
    }
    const key = member.slice(0, member.indexOf('='));
    if (keys.has(key)) {
      onReject?.('duplicate tracestate key');
      return undefined;
    }
    keys.add(key);
    members.push(member);
  }
  if (members.length > MAX_MEMBERS) {
    onReject?.('more than 32 tracestate members');
    return undefined;
  }
  return cut(members);
}

function cut(members: string[]): string {
  let joined = members.join(',');
  if (joined.length <= MAX_FORWARD) return joined;
  let kept = members.filter((m) => m.length <= LONG_ENTRY);
  joined = kept.join(',');
  while (joined.length > MAX_FORWARD) {
    kept = kept.slice(0, -1);
    joined = kept.join(',');
  }
  return joined;
}
