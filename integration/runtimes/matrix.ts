/** The runtimes and flags the conformance suite runs on, and where each binary is installed. */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

export interface Column {
  /** Key in `gaps.ts`; several columns of one runtime share it. */
  readonly runtime: 'node' | 'bun' | 'deno';
  /** The column's name in logs; the table's heading is the runtime's version and `variant`. */
  readonly title: string;
  /** What differs from the runtime's defaults, for the heading (`ACF (default)`, `no ACF`). */
  readonly variant?: string | undefined;
  /** The binary, or why it cannot be had. */
  readonly bin: string | Error;
  readonly args: readonly string[];
}

/** A pinned devDependency's file, or the reason it is missing (the package is not installed). */
function installed(pkg: string, file: string): string | Error {
  try {
    return join(dirname(require.resolve(`${pkg}/package.json`)), file);
  } catch (error) {
    return new Error(`${pkg} is not installed (${(error as Error).message.split('\n')[0]}); run npm ci`);
  }
}

const node24 = installed('node', 'bin/node');
const node22 = installed('node22', 'bin/node');

// Node 24 runs AsyncContextFrame by default and turns it off with --no-async-context-frame;
// Node 22 runs without it and turns it on with --experimental-async-context-frame.
// The first column is the reference the start-up warning is judged against (driver.ts).
export const columns: readonly Column[] = [
  { runtime: 'node', title: 'Node 24', variant: 'ACF (default)', bin: node24, args: [] },
  { runtime: 'node', title: 'Node 24 --no-async-context-frame', variant: 'no ACF', bin: node24, args: ['--no-async-context-frame'] },
  { runtime: 'node', title: 'Node 22', variant: 'no ACF (default)', bin: node22, args: [] },
  { runtime: 'node', title: 'Node 22 --experimental-async-context-frame', variant: 'ACF', bin: node22, args: ['--experimental-async-context-frame'] },
  { runtime: 'bun', title: 'Bun', bin: installed('@oven/bun-linux-x64', 'bin/bun'), args: [] },
  { runtime: 'deno', title: 'Deno', bin: installed('@deno/linux-x64-glibc', 'deno'), args: ['run', '-A'] },
];
