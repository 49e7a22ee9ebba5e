/**
 * W3C `tracestate` at level 2 (https://www.w3.org/TR/trace-context-2/#tracestate-header):
 * validated, combined across header lines, and cut to a forwardable size by whole entries only.
 */

/** Most list-members a tracestate may hold (the list grammar allows 32). */
const MAX_MEMBERS = 32;
/** ctxkit forwards at most this many characters (the spec asks vendors to propagate ≥ 512). */
const MAX_FORWARD = 512;
/** Entries longer than this are the first to go when cutting (spec: "larger than 128"). */
const LONG_ENTRY = 128;
/** Input beyond this is refused unread: no legitimate tracestate is near it. */
const MAX_INPUT = 8192;

// Level 2: key = ( lcalpha / DIGIT ) 0*255 ( keychar ), keychar including "@" anywhere after the
// first character (multi-tenant keys, and the 256-character limit for the whole key).
const KEY = /^[a-z0-9][a-z0-9_\-*/@]{0,255}$/;
// value = 0*255(chr) nblk-chr: printable ASCII but ',' and '=', not ending in a space.
const VALUE = /^[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;
// Optional whitespace around a list-member is spaces and tabs (RFC 9110 OWS).
const OWS = /^[ \t]+|[ \t]+$/g;

/**
 * Parses one or several `tracestate` header values (combined in order, as RFC 9110 §5.3 says)
 * into the single value to forward. Never throws.
 *
 * A member that breaks the grammar (bad key or value, no `=`) or a list of more than 32 members
 * makes the header one that cannot be parsed: it is dropped whole, as the spec allows and the
 * W3C test suite expects (forwarding the rest would vouch for a list ctxkit could not read).
 * The spec would also allow dropping only the invalid member, but the suite at level 2 requires
 * the valid members gone too (`test_tracestate_key_illegal_vendor_format`: `@foo=1,bar=2`;
 * `test_tracestate_key_length_limit`: `foo=1` beside a 257-character key;
 * `test_tracestate_value_illegal_characters`: `foo=,bar=3`).
 * A duplicate key keeps its first (most recent, leftmost) entry; later ones are dropped. Empty
 * members and whitespace around members are skipped.
 *
 * @returns the combined, validated value (entries in order, cut to 512 characters by whole
 *   entries, long ones first), `''` when there are no entries, or `undefined` when the header
 *   is dropped whole. `onReject` is told why for each thing dropped (a whole header, a duplicate).
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
    const member = part.includes(' ') || part.includes('\t') ? part.replace(OWS, '') : part;
    if (member === '') continue;
    const eq = member.indexOf('=');
    const key = eq < 0 ? member : member.slice(0, eq);
    // Reasons are fixed strings: drops are counted by reason, so none may carry input.
    const problem = eq < 0 ? 'without "="' : !KEY.test(key) ? 'with an invalid key' : !VALUE.test(member.slice(eq + 1)) ? 'with an invalid value' : undefined;
    if (problem !== undefined) {
      onReject?.(`tracestate member ${problem} (header dropped)`);
      return undefined;
    }
    if (keys.has(key)) {
      onReject?.('duplicate tracestate key (later entry dropped)');
      continue;
    }
    keys.add(key);
    members.push(member);
    if (members.length > MAX_MEMBERS) {
      onReject?.('more than 32 tracestate members (header dropped)');
      return undefined;
    }
  }
  return cut(members);
}

/**
 * Cuts to {@link MAX_FORWARD} characters by whole entries: entries over 128 characters go first,
 * from the right, then entries from the end (spec, "tracestate Limits").
 */
function cut(members: string[]): string {
  let size = members.length - 1;
  for (const m of members) size += m.length;
  if (size <= MAX_FORWARD) return members.join(',');
  const kept = members.slice();
  for (let i = kept.length - 1; i >= 0 && size > MAX_FORWARD; i--) {
    if (kept[i]!.length <= LONG_ENTRY) continue;
    size -= kept[i]!.length + 1;
    kept.splice(i, 1);
  }
  while (size > MAX_FORWARD) size -= kept.pop()!.length + 1;
  return kept.join(',');
}
