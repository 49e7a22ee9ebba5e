import { defineConfig, type UserConfig } from 'tsdown';

/** The one build of every ctxkit package: ESM and CommonJS with types, for Node 22+. */
export function packageBuild(entry: string[]): UserConfig {
  return defineConfig({
    entry,
    format: ['esm', 'cjs'],
    dts: true,
    platform: 'node',
    target: 'node22',
    sourcemap: true,
    clean: true,
  });
}
