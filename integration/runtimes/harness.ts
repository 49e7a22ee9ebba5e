/**
 * The conformance runner's harness: no test framework, so that Node, Bun and Deno all run it the
 * same way. A case is an async function that throws when a guarantee does not hold; a probe asks
 * what the runtime itself does (whether a bare AsyncLocalStorage store survives a pattern), so the
 * support table can say where ctxkit covers for the runtime. One line per result, then the
 * closing `N passed, N failed`.
 */

/** A guarantee ctxkit gives; throws (with the reason) when it does not hold. */
export interface Case {
  readonly id: string;
  readonly run: () => Promise<void>;
}

/**
 * A question about the runtime: what a bare store is in a listener after the pattern:
 * `kept` (the caller's), `lost` (none) or `wrong` (another one, the worst outcome).
 */
export interface Probe {
  readonly id: string;
  readonly run: () => Promise<ProbeResult>;
}

export type ProbeResult = 'kept' | 'lost' | 'wrong';

// A hang guard, not an assertion: every case waits on events, and a case that never ends
// must fail with a reason instead of stopping the whole runner.
const CASE_LIMIT_MS = 15_000;

function bounded<T>(promise: Promise<T>, id: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${id}: no result within ${CASE_LIMIT_MS} ms`)), CASE_LIMIT_MS);
  });
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}

function oneLine(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return text.replace(/\s+/g, ' ').slice(0, 300);
}

/** Runs the probes, then the cases, one at a time; prints each result and the closing count. */
export async function runAll(probes: readonly Probe[], cases: readonly Case[], only?: string): Promise<number> {
  let passed = 0;
  let failed = 0;
  for (const probe of probes) {
    if (only !== undefined && probe.id !== only) continue;
    try {
      console.log(`probe ${probe.id} ${await bounded(probe.run(), probe.id)}`);
    } catch (error) {
      console.log(`probe ${probe.id} error ${oneLine(error)}`);
    }
  }
  for (const c of cases) {
    if (only !== undefined && c.id !== only) continue;
    try {
      await bounded(c.run(), c.id);
      passed++;
      console.log(`pass ${c.id}`);
    } catch (error) {
      failed++;
      console.log(`fail ${c.id} ${oneLine(error)}`);
    }
  }
  console.log(`${passed} passed, ${failed} failed`);
  return failed;
}

/** Throws `message` unless `ok`. */
export function check(ok: boolean, message: string): asserts ok {
  if (!ok) throw new Error(message);
}

/** Throws unless `actual === expected`, naming both. */
export function same<T>(actual: T, expected: T, what: string): void {
  if (actual !== expected) throw new Error(`${what}: expected ${String(expected)}, got ${String(actual)}`);
}

/** `node 24.21.0`, `bun 1.4.4`, `deno 2.9.6`: what is running this. */
export function runtimeName(): string {
  const versions = process.versions as Record<string, string | undefined>;
  const deno = (globalThis as { Deno?: { version: { deno: string } } }).Deno;
  if (versions.bun !== undefined) return `bun ${versions.bun}`;
  if (deno !== undefined) return `deno ${deno.version.deno}`;
  return `node ${versions.node}`;
}
