import type { ContextKey } from './schema.js';
import { normalizeKey } from './schema.js';

/**
 * Which incoming keys an adapter honours. Trace ids are always read (they are correlation, not
 * authority); everything else is trusted only as configured.
 * - `'edge'`: nothing but the trace id. The default of the public HTTP adapters.
 * - `'internal'`: every declared key, `user-id` included. The default of internal servers.
 * - a rule: the listed keys (or `'declared'`) from the listed peers, `'edge'` from others.
 */
export type TrustOption = 'edge' | 'internal' | TrustRule;

/** Trust the listed keys when the request comes from a listed peer (a trusted proxy, say). */
export interface TrustRule {
  /** Keys to honour from trusted peers: names, declared keys, or `'declared'` for all. */
  readonly keys: readonly (string | ContextKey)[] | 'declared';
  /**
   * Trusted peers: exact remote addresses (IPv4-mapped IPv6 is matched as IPv4), or a
   * predicate on the remote address. Omitted: every peer.
   */
  readonly from?: readonly string[] | ((remoteAddress: string | undefined) => boolean);
}

/** Decides, per request, which keys beyond the trace id to read. @internal */
export type TrustDecision = (remoteAddress: string | undefined) => 'none' | 'declared' | ReadonlySet<string>;

const NONE = () => 'none' as const;
const DECLARED = () => 'declared' as const;

/** Compiles a trust option once, at adapter set-up. @internal */
export function compileTrust(option: TrustOption): TrustDecision {
  if (option === 'edge') return NONE;
  if (option === 'internal') return DECLARED;
  const keys: 'declared' | ReadonlySet<string> =
    option.keys === 'declared'
      ? 'declared'
      : new Set(option.keys.map((k) => (typeof k === 'string' ? normalizeKey(k) : k.name)));
  const from = option.from;
  if (from === undefined) return () => keys;
  if (typeof from === 'function') return (addr) => (from(addr) ? keys : 'none');
  const peers = new Set(from.map(unmap));
  return (addr) => (addr !== undefined && peers.has(unmap(addr)) ? keys : 'none');
}

function unmap(addr: string): string {
  return addr.startsWith('::ffff:') ? addr.slice(7) : addr;
}
