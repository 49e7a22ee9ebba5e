import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The ctxkit adapters a variant may need. */
export type Adapter = '@ctxkit/fastify' | '@ctxkit/express' | '@ctxkit/grpc';

/** Whether a package's ESM entry is built (its `dist` exists). */
function built(name: string): boolean {
  try {
    return existsSync(fileURLToPath(import.meta.resolve(name)));
  } catch {
    return false;
  }
}

/**
 * Why a variant needing `adapters` cannot run here, or `undefined` when all are built. A variant
 * that cannot run is reported as not measured: never a figure made up.
 */
export function unavailable(...adapters: Adapter[]): string | undefined {
  const missing = adapters.filter((a) => !built(a));
  return missing.length === 0 ? undefined : `not measured: package not built yet (${missing.join(', ')})`;
}
