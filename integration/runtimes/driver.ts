/**
 * Runs the conformance suite on every runtime and flag of the matrix, prints each result, and
 * checks the support table in the README against them: it fails when a cell changed without the
 * table being updated, when a case fails that `gaps.ts` does not list, or when a listed gap now
 * passes. `--write` regenerates the README's table instead of checking it.
 *
 *   node integration/runtimes/driver.ts [--write]     (after `npm run build`)
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Column, columns } from './matrix.ts';
import { judge, parseRun } from './judge.ts';
import { renderTable, type Run, spliceTable } from './table.ts';

const here = fileURLToPath(new URL('.', import.meta.url));
const suite = fileURLToPath(new URL('conformance.ts', import.meta.url));
const readme = fileURLToPath(new URL('../../README.md', import.meta.url));
// A hang guard for one runtime's whole run (each case has its own, shorter one).
const RUN_LIMIT_MS = 180_000;

function runColumn(column: Column): Promise<Run> {
  if (column.bin instanceof Error) return Promise.resolve({ column, version: '?', results: new Map(), problem: column.bin.message });
  const bin = column.bin;
  return new Promise((resolve) => {
    const child = spawn(bin, [...column.args, suite], { cwd: here, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString('utf8');
    });
    child.stderr.on('data', (c: Buffer) => {
      err += c.toString('utf8');
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_LIMIT_MS);
    child.on('error', (error) => {
      clearTimeout(timer);
      resolve({ column, version: '?', results: new Map(), problem: `cannot start ${bin}: ${error.message}` });
    });
    child.on('close', (code, sig) => {
      clearTimeout(timer);
      resolve(parseRun(column, out, err, String(sig ?? code)));
    });
  });
}

const write = process.argv.includes('--write');
const runs: Run[] = [];
for (const column of columns) {
  const run = await runColumn(column);
  runs.push(run);
  console.log(`== ${column.title} (${run.version})`);
  if (run.output !== undefined) process.stdout.write(run.output);
  if (run.problem !== undefined) console.log(`problem: ${run.problem}`);
}

const { passed, documented, problems: judged } = judge(runs);
const problems = [...judged];

const table = renderTable(runs);
const text = readFileSync(readme, 'utf8');
const updated = spliceTable(text, table);
if (write) {
  writeFileSync(readme, updated);
  console.log('README.md: support table written');
} else if (updated !== text) {
  problems.push('the support table in README.md does not match these results: run `npm run runtimes -- --write` and commit it');
  console.log(table);
}
problems.push(...enginesProblems());
for (const problem of problems) console.log(`problem: ${problem}`);
console.log(`documented gaps: ${documented}`);
// Every problem is one failure: an undocumented failing cell, a stale gap, a run that broke, a stale table.
console.log(`runtimes: ${passed} passed, ${problems.length} failed`);
process.exit(problems.length === 0 ? 0 : 1);

/**
 * `engines` say what the matrix shows: a package names Bun and Deno only when the suite loads it
 * (an import of it in `cases/`), and then it passes there; one the suite never loads names Node only.
 */
function enginesProblems(): string[] {
  const casesDir = new URL('cases/', import.meta.url);
  const loaded = new Set<string>();
  for (const file of readdirSync(casesDir)) {
    for (const m of readFileSync(new URL(file, casesDir), 'utf8').matchAll(/'(@ctxkit\/[a-z-]+)[/a-z]*'/g)) loaded.add(m[1]!);
  }
  const packagesDir = new URL('../../packages/', import.meta.url);
  const found: string[] = [];
  for (const dir of readdirSync(packagesDir)) {
    const pkg = JSON.parse(readFileSync(new URL(`${dir}/package.json`, packagesDir), 'utf8')) as { name: string; engines?: Record<string, string> };
    const claims = pkg.engines?.bun !== undefined || pkg.engines?.deno !== undefined;
    if (claims && !loaded.has(pkg.name)) found.push(`${pkg.name} names Bun/Deno in engines but the runtime suite never loads it`);
    if (!claims && loaded.has(pkg.name)) found.push(`${pkg.name} is in the runtime suite but its engines name Node only`);
  }
  return found;
}
