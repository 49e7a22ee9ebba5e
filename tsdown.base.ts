import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { defineConfig, type UserConfig } from 'tsdown';

/** The one build of every ctxkit package: ESM and CommonJS with types, for Node 22+. */
export function packageBuild(entry: string[] | Record<string, string>): UserConfig {
  return defineConfig({
    entry,
    format: ['esm', 'cjs'],
    // No declaration maps: they would point into src/, which is not published.
    dts: { sourcemap: false },
    platform: 'node',
    target: 'node22',
    sourcemap: true,
    clean: true,
    hooks: { 'build:done': dropDeclarationMapComments },
  });
}

/**
 * The bundler's `sourcemap` adds a `sourceMappingURL` comment to the declaration files too,
 * naming `.d.ts.map` files that are never emitted (editors and attw then look for them).
 */
async function dropDeclarationMapComments(ctx: { options: { outDir: string } }): Promise<void> {
  const dir = ctx.options.outDir;
  for (const name of await readdir(dir)) {
    if (!/\.d\.[cm]?ts$/.test(name)) continue;
    const file = join(dir, name);
    const text = await readFile(file, 'utf8');
    const stripped = text.replace(/\n\/\/# sourceMappingURL=\S+\.d\.[cm]?ts\.map\s*$/, '\n');
    if (stripped !== text) await writeFile(file, stripped);
  }
}
