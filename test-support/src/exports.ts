/**
 * The committed export list of a package entry, checked against what the built entry exports,
 * so that a change to a package's public surface is always a deliberate one.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

/** What one entry exports: run-time values, and names that exist only as types. */
export interface EntrySurface {
  readonly values: readonly string[];
  readonly types: readonly string[];
}

/**
 * Checks the entry `specifier` (`'@ctxkit/core/adapter'`) of the package at `packageDir` against
 * `exports/<name>.json` there. With `CTXKIT_UPDATE_EXPORTS=1` it rewrites the list instead.
 */
export async function checkExportList(packageDir: string, specifier: string, name: string): Promise<void> {
  const file = join(packageDir, 'exports', `${name}.json`);
  const actual = await surfaceOf(packageDir, specifier);
  if (process.env.CTXKIT_UPDATE_EXPORTS === '1') {
    writeFileSync(file, `${JSON.stringify(actual, null, 2)}\n`);
    return;
  }
  const committed = JSON.parse(readFileSync(file, 'utf8')) as EntrySurface;
  const where = relative(process.cwd(), file) || file;
  const diff = (kind: 'values' | 'types') => {
    const added = actual[kind].filter((n) => !committed[kind].includes(n));
    const removed = committed[kind].filter((n) => !actual[kind].includes(n));
    return added.length + removed.length === 0 ? '' : ` ${kind}: added [${added.join(', ')}], removed [${removed.join(', ')}];`;
  };
  expect(
    actual,
    `The public surface of ${specifier} changed:${diff('values')}${diff('types')} if that is deliberate, ` +
      `update ${where} (CTXKIT_UPDATE_EXPORTS=1 npx vitest run test/exports.test.ts rewrites it) and say why in the commit.`,
  ).toEqual(committed);
}

/** The values of the built ESM entry, and every name its `.d.mts` declares. */
async function surfaceOf(packageDir: string, specifier: string): Promise<EntrySurface> {
  const require = createRequire(join(packageDir, 'package.json'));
  const js = require.resolve(specifier).replace(/\.cjs$/, '.mjs');
  const mod = (await import(js)) as Record<string, unknown>;
  const values = Object.keys(mod).sort();
  const dts = readFileSync(js.replace(/\.mjs$/, '.d.mts'), 'utf8');
  const names = new Set<string>();
  for (const m of dts.matchAll(/^export (?:declare )?(?:abstract )?(?:function|const|let|class|enum|interface|type) (\w+)/gm)) names.add(m[1]!);
  for (const m of dts.matchAll(/^export (?:type )?\{([^}]*)\}/gm)) {
    for (const part of m[1]!.split(',')) {
      const item = part.trim().replace(/^type /, '');
      if (item !== '') names.add(item.split(/\s+as\s+/).pop()!);
    }
  }
  const types = [...names].filter((n) => !values.includes(n)).sort();
  return { values, types };
}

/** The directory of the package whose test file is `testUrl` (`import.meta.url`). */
export function packageOf(testUrl: string): string {
  return dirname(dirname(fileURLToPath(testUrl)));
}
