import { InvalidMetadataError } from './errors.js';
import { slot } from './storage.js';

/**
 * A propagated key, declared once with {@link defineKey}. `T` narrows the values code may set
 * (a union of literals, say); on the wire every value is a string.
 */
export interface ContextKey<T extends string = string> {
  /** The wire name: lowercase, hyphenated, e.g. `'tenant-id'`. */
  readonly name: string;
  /** Type-only marker; never set at run time. */
  readonly __value?: T;
}

/** Options of {@link defineKey}. */
export interface KeyOptions {
  /** Longest value accepted, in characters (ASCII only, so also bytes). Default 256. */
  readonly maxLength?: number;
  /**
   * A stricter rule for values, checked after the general one (printable ASCII, no CR/LF).
   * Anchor it (`^…$`); it must not be global or sticky.
   */
  readonly pattern?: RegExp;
}

/** A key as the registry holds it. @internal */
export interface KeyDefinition {
  readonly name: string;
  readonly maxLength: number;
  readonly pattern: RegExp | undefined;
}

/** Limits every context obeys, chosen to stay far inside grpc-js's 8 KiB default metadata limit. */
export const LIMITS = {
  /** Longest wire key. */
  keyLength: 64,
  /** Default longest value. */
  valueLength: 256,
  /** Longest value any key may declare. */
  maxValueLength: 1024,
  /** Sum of key and value lengths of every propagated entry of one context. */
  totalBytes: 4096,
  /** Most propagated entries in one context. */
  entries: 32,
} as const;

const WIRE_KEY = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
// Printable ASCII; inner spaces allowed, none at the ends (HTTP trims them).
const VALUE = /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/;
// Ids: visible ASCII without space or comma (Node joins duplicate headers with ", ").
const ID = /^[\x21-\x2b\x2d-\x7e]+$/;

// Keys that mean something else to HTTP/2, gRPC or HTTP, or carry credentials: never context.
const RESERVED = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'te', 'transfer-encoding', 'upgrade', 'host',
  'content-type', 'content-length', 'content-encoding', 'accept', 'accept-encoding', 'user-agent',
  'authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'traceparent', 'tracestate',
  'baggage', 'x-request-id', 'forwarded', 'x-forwarded-for', 'x-forwarded-host',
  'x-forwarded-proto', 'request-timeout-ms',
]);

/**
 * Turns `traceId`, `user_id`, `Trace-ID` or `tenant id` into the wire form
 * (`trace-id`, `user-id`, `tenant-id`).
 *
 * @throws {@link InvalidMetadataError} when the result is still not a valid wire key.
 */
export function normalizeKey(name: string): string {
  const key = wireForm(name);
  checkWireKey(name, key);
  return key;
}

// Turning a name into wire form costs a few regex passes; names repeat (they are written in
// code), so results are remembered, a bounded number of them. A pure function's memo: nothing
// in it depends on, or is borrowed by, the request being served.
const wireForms = new Map<string, string>();

/**
 * The wire form of a name, without checking it is a valid key: the one rule by which context
 * values are both written and read (`get('tenantId')` reads `tenant-id`). @internal
 */
export function wireForm(name: string): string {
  let key = wireForms.get(name);
  if (key === undefined) {
    key = name
      .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
      .replace(/([A-Z]+)([A-Z][a-z])/g, '$1-$2')
      .replace(/[\s_.]+/g, '-')
      .toLowerCase();
    if (wireForms.size < 512) wireForms.set(name, key);
  }
  return key;
}

function checkWireKey(given: string, key: string): void {
  if (key.length === 0 || key.length > LIMITS.keyLength) {
    throw new InvalidMetadataError(given, `a key has 1 to ${LIMITS.keyLength} characters`);
  }
  if (!WIRE_KEY.test(key)) {
    throw new InvalidMetadataError(given, 'a key is lowercase letters and digits joined by single hyphens');
  }
  if (key.startsWith('grpc-')) throw new InvalidMetadataError(given, 'the grpc- prefix is reserved by gRPC');
  if (key.endsWith('-bin')) throw new InvalidMetadataError(given, 'binary (-bin) metadata is not context');
  if (RESERVED.has(key)) throw new InvalidMetadataError(given, 'this header is reserved by HTTP, gRPC or tracing');
}

function register(name: string, options: KeyOptions, pattern?: RegExp): KeyDefinition {
  const maxLength = options.maxLength ?? LIMITS.valueLength;
  if (!Number.isInteger(maxLength) || maxLength < 1 || maxLength > LIMITS.maxValueLength) {
    throw new InvalidMetadataError(name, `maxLength is an integer from 1 to ${LIMITS.maxValueLength}`);
  }
  const p = options.pattern ?? pattern;
  if (p !== undefined && (p.global || p.sticky)) {
    throw new InvalidMetadataError(name, 'a value pattern must not be global or sticky');
  }
  const existing = slot.keys.get(name);
  if (existing !== undefined) {
    if (existing.maxLength !== maxLength || existing.pattern?.source !== p?.source) {
      throw new InvalidMetadataError(name, 'declared twice with different options');
    }
    return existing;
  }
  const def: KeyDefinition = { name, maxLength, pattern: p };
  slot.keys.set(name, def);
  return def;
}

/**
 * Declares a propagated key once, for the whole process. Declared keys are carried by every
 * adapter; internal servers accept them from peers, the public edge only from trusted sources.
 *
 * @param name - the wire name or a camelCase form of it (normalised).
 * @throws {@link InvalidMetadataError} when the name cannot be a wire key, has an underscore
 *   (proxies drop such headers) or the `x-envoy-` prefix, or when the same key was declared with
 *   different options.
 * @example
 * export const tenantId = defineKey<'acme' | 'globex'>('tenantId'); // wire name 'tenant-id'
 */
export function defineKey<T extends string = string>(name: string, options: KeyOptions = {}): ContextKey<T> {
  // Proxies drop such header names by default (nginx: underscores_in_headers off; Envoy:
  // headers_with_underscores_action), and a peer in another language reading `tenant_id` would
  // never match the hyphenated wire key: refused here rather than renamed behind its back.
  if (name.includes('_')) throw new InvalidMetadataError(name, `underscores are dropped by proxies; name it '${wireForm(name)}'`);
  const key = normalizeKey(name);
  if (key.startsWith('x-envoy-')) throw new InvalidMetadataError(name, 'the x-envoy- prefix is Envoy’s own and never forwarded');
  if (BUILT_IN.has(key)) throw new InvalidMetadataError(name, 'this key is built in');
  return { name: register(key, options).name };
}

const BUILT_IN = new Set(['trace-id', 'request-id', 'user-id']);

// The built-in keys: ids, at most 128 visible characters without spaces or commas.
register('trace-id', { maxLength: 128 }, ID);
register('request-id', { maxLength: 128 }, ID);
register('user-id', { maxLength: 128 }, ID);

/** The declared definition of a wire key, or `undefined`. @internal */
export function keyDefinition(name: string): KeyDefinition | undefined {
  return slot.keys.get(name);
}

/** Every declared key (built-in ones included), in declaration order. @internal */
export function declaredKeys(): IterableIterator<KeyDefinition> {
  return slot.keys.values();
}

/**
 * Why a value is refused for a key, or `undefined` when it is fine. Never throws.
 * @internal
 */
export function valueProblem(def: KeyDefinition, value: unknown): string | undefined {
  if (typeof value !== 'string') return 'not a string';
  if (value.length > def.maxLength) return `longer than ${def.maxLength} characters`;
  // The ids' rule (visible ASCII, no space or comma) implies the general one: one regex, not two,
  // for the ids every request carries. A value it refuses goes through both for its reason.
  if (isIdRule(def.pattern) && ID.test(value)) return undefined;
  if (!VALUE.test(value)) {
    return /[\r\n]/.test(value) ? 'contains CR or LF' : 'not printable ASCII (or blank at an end)';
  }
  if (def.pattern !== undefined && !def.pattern.test(value)) return 'does not match the key pattern';
  return undefined;
}

/**
 * Whether a key's pattern is the ids' rule. By identity first; by source when another copy of
 * this module (the CommonJS build beside the ES one) registered the built-in keys in the shared
 * slot with its own `ID` object, so that copy keeps the one-regex path too.
 */
function isIdRule(pattern: RegExp | undefined): boolean {
  return pattern === ID || (pattern !== undefined && pattern.source === ID.source);
}

/**
 * Checks a value set by code, throwing where it was set.
 * @internal
 */
export function checkValue(key: string, value: unknown): string {
  const def = slot.keys.get(key);
  if (def === undefined) {
    throw new InvalidMetadataError(key, 'not declared: call defineKey() once at start-up');
  }
  const problem = valueProblem(def, value);
  if (problem !== undefined) throw new InvalidMetadataError(key, `value ${problem}`);
  return value as string;
}

/** Values to set: wire names or camelCase/snake_case forms of declared keys. */
export type ContextValues = Readonly<Record<string, string | undefined>>;

/** Ids that code may not change once a chain started. */
const FIXED = new Set(['trace-id', 'request-id']);

/**
 * Validates values set by code, in wire form; throws where a value cannot go on the wire.
 * @internal
 */
export function checkedValues(values: ContextValues): [string, string][] {
  const out: [string, string][] = [];
  for (const name of Object.keys(values)) {
    const value = values[name];
    if (value === undefined) continue;
    const key = wireForm(name);
    if (FIXED.has(key)) throw new InvalidMetadataError(name, 'trace-id and request-id are set when a chain starts');
    // A name that cannot be a key says which rule it breaks, before "not declared".
    if (!slot.keys.has(key)) normalizeKey(name);
    out.push([key, checkValue(key, value)]);
  }
  return out;
}

/** Validates and writes values set by code into `into`, then checks the totals. @internal */
export function setValues(into: Map<string, string>, values: ContextValues): void {
  for (const [key, value] of checkedValues(values)) into.set(key, value);
  checkTotals(into);
}

/** Checks the entry and byte totals of a context's values. @internal */
export function checkTotals(metadata: ReadonlyMap<string, string>): void {
  let bytes = 0;
  for (const [k, v] of metadata) bytes += k.length + v.length;
  checkLimits(metadata.size, bytes);
}

/** @throws {@link InvalidMetadataError} past {@link LIMITS}' entries or total bytes. @internal */
export function checkLimits(entries: number, bytes: number): void {
  if (entries > LIMITS.entries) {
    throw new InvalidMetadataError('(all keys)', `more than ${LIMITS.entries} propagated entries`);
  }
  if (bytes > LIMITS.totalBytes) {
    throw new InvalidMetadataError('(all keys)', `propagated entries exceed ${LIMITS.totalBytes} bytes in total`);
  }
}
