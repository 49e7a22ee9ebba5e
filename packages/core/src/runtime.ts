/**
 * What the runtime under ctxkit cannot give, as measured by the conformance suite on every
 * supported runtime (`integration/runtimes/`, the support table in the README). On Node there
 * is nothing to say; on Bun and Deno some listeners run without the AsyncLocalStorage store that
 * was current where they were added, and ctxkit cannot reach into those runtime APIs to carry it.
 * It says so once per process, at start-up, instead of letting `currentContext()` fail later
 * without a reason. Keep this list and `integration/runtimes/gaps.ts` saying the same.
 */

type Versions = Record<string, string | undefined>;

/** The gaps of the runtime running this, one sentence each; empty on Node. */
export function runtimeGaps(versions: Versions = process.versions as Versions): readonly string[] {
  if (versions.bun !== undefined) {
    return [
      '`AbortSignal.timeout()` abort listeners and `MessageChannel` message handlers run outside the request context: wrap them with bindContext()',
      "Bun's built-in `undici` has no `Agent.compose()`, so undiciInterceptor() cannot be installed: use ctxFetch / createFetch",
    ];
  }
  if (versions.deno !== undefined || 'Deno' in globalThis) {
    return ['`AbortSignal.timeout()` abort listeners run outside the request context: wrap them with bindContext()'];
  }
  return [];
}

/** The start-up warning for `gaps`, or `undefined` when there is none. */
export function runtimeWarning(gaps: readonly string[], name: string): string | undefined {
  if (gaps.length === 0) return undefined;
  return `ctxkit on ${name}: ${gaps.join('; ')}. Everything else ctxkit guarantees holds here (see "Runtimes" in ctxkit's README).`;
}

function runtimeName(versions: Versions): string {
  if (versions.bun !== undefined) return `Bun ${versions.bun}`;
  const deno = (globalThis as { Deno?: { version?: { deno?: string } } }).Deno;
  return `Deno ${versions.deno ?? deno?.version?.deno ?? ''}`.trim();
}

/**
 * Warns once about the runtime's gaps (`process.emitWarning`, code `CTXKIT_RUNTIME`). Called
 * when the process-wide storage is created, so a second copy of ctxkit does not warn again.
 */
export function warnRuntimeGaps(): void {
  const versions = process.versions as Versions;
  const message = runtimeWarning(runtimeGaps(versions), runtimeName(versions));
  if (message !== undefined) process.emitWarning(message, { code: 'CTXKIT_RUNTIME' });
}
