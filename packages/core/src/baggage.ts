/**
 * W3C Baggage (https://www.w3.org/TR/baggage/): parsed with the spec's limits, percent-decoded,
 * and bounded as a whole however many header lines carry it. Never throws.
 */

/** The spec's limits: at most 64 list-members and 8192 bytes in all. */
export const BAGGAGE_LIMITS = { members: 64, bytes: 8192 } as const;

// key = token (RFC 7230); value = *baggage-octet, percent-encoded; properties after ';' ignored.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const VALUE = /^[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*$/;

/**
 * Parses `baggage` header values into key → decoded value. Members that break the grammar are
 * skipped with a reason; past the member or byte budget the rest is dropped.
 *
 * @returns the entries, in order (a later duplicate key wins, as in OpenTelemetry).
 */
export function parseBaggage(
  value: string | readonly string[],
  onReject?: (reason: string) => void,
): Map<string, string> {
  const out = new Map<string, string>();
  const lines = typeof value === 'string' ? [value] : value;
  let bytes = 0;
  let members = 0;
  for (const line of lines) {
    bytes += Buffer.byteLength(line) + (members > 0 ? 1 : 0);
    if (bytes > BAGGAGE_LIMITS.bytes) {
      onReject?.('baggage over 8192 bytes: the rest is dropped');
      return out;
    }
    for (const part of line.split(',')) {
      const member = part.trim();
      if (member === '') continue;
      if (++members > BAGGAGE_LIMITS.members) {
        onReject?.('more than 64 baggage members: the rest is dropped');
        return out;
      }
      const eq = member.indexOf('=');
      const semi = member.indexOf(';');
      const end = semi === -1 ? member.length : semi;
      const key = eq === -1 || eq > end ? '' : member.slice(0, eq).trim();
      const raw = eq === -1 || eq > end ? '' : member.slice(eq + 1, end).trim();
      if (!TOKEN.test(key) || !VALUE.test(raw)) {
        onReject?.('malformed baggage member');
        continue;
      }
      const decoded = decode(raw);
      if (decoded === undefined) {
        onReject?.('bad percent-encoding in baggage');
        continue;
      }
      out.set(key, decoded);
    }
  }
  return out;
}

function decode(raw: string): string | undefined {
  if (!raw.includes('%')) return raw;
  try {
    return decodeURIComponent(raw);
  } catch {
    return undefined;
  }
}

/** Formats entries as a `baggage` header value, percent-encoding what the grammar forbids. */
export function formatBaggage(entries: Iterable<readonly [string, string]>): string {
  let out = '';
  for (const [k, v] of entries) {
    if (!TOKEN.test(k)) continue;
    out += `${out === '' ? '' : ','}${k}=${encodeBaggageValue(v)}`;
  }
  return out;
}

/** Percent-encodes a baggage value: everything outside baggage-octet, and '%', as UTF-8. */
export function encodeBaggageValue(value: string): string {
  return value.replace(/[^\x21\x23\x24\x26-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]/gu, (c) => encodeURIComponent(c).replace(/[!'()*]/g, escapeChar));
}

function escapeChar(c: string): string {
  return `%${c.charCodeAt(0).toString(16).toUpperCase()}`;
}
