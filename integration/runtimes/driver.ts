/**
 * Runs the conformance suite on every runtime and flag of the matrix, prints each result, and
 * checks the support table in the README against them: it fails when a cell changed without the
 * table being updated, when a case fails that `gaps.ts` does not list, or when a listed gap now
 * passes. `--write` regenerates the README's table instead of checking it.
 *
 *   node integration/runtimes/driver.ts [--write]     (after `npm run build`)
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Column, columns } from './matrix.ts';
import { gaps } from './gaps.ts';
import { renderTable, type Run, spliceTable } from './table.ts';

const here = fileURLToPath(new URL('.', import.meta.url));
const suite = fileURLToPath(new URL('conformance.ts', import.meta.url));
const readme = fileURLToPath(new URL('../../README.md', import.meta.url));
// A hang guard for one runtime's whole run (each case has its own, shorter one).
const RUN_LIMIT_MS = 180_000;

/** The `CTXKIT_RUNTIME` warnings a run printed on stderr. */
function warningsIn(stderr: string): string[] {
  return stderr.split('\n').filter((line) => line.includes('[CTXKIT_RUNTIME]'));
}

// How the start-up warning names each probed pattern.
const NAMED: Readonly<Record<string, string>> = {
  'enterwith-in-exit-then-finish': 'enterWith',
  'res-close-on-client-abort': "res.on('close')",
  'req-end-after-resume': 'req.resume',
  'abortsignal-timeout-listener': 'AbortSignal.timeout',
  'messagechannel-handler': 'MessageChannel',
  'stream-finished-callback': 'stream.finished',
};

/**
 * Core's start-up warning must appear once where something differs from Node 24's default
 * (a documented gap, or a pattern whose listener keeps the store there and not here), naming
 * each, and never where nothing does.
 */
function warningProblems(run: Run, reference: Run): string[] {
  const owed: string[] = Object.keys(gaps[run.column.runtime] ?? {});
  for (const [id, keyword] of Object.entries(NAMED)) {
    const here = run.results.get(`probe:${id}`);
    if (reference.results.get(`probe:${id}`) === 'kept' && here !== undefined && here !== 'kept') owed.push(keyword);
  }
  const warnings = run.warnings ?? [];
  if (owed.length === 0) return warnings.length === 0 ? [] : [`warned at start-up with nothing to warn about: ${warnings[0]}`];
  if (warnings.length !== 1) return [`expected one CTXKIT_RUNTIME warning naming ${owed.join(', ')}; got ${warnings.length}`];
  return owed.filter((keyword) => !warnings[0]!.includes(keyword)).map((keyword) => `the start-up warning does not name ${keyword}`);
}

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
      const results = new Map<string, string>();
      let version = '?';
      let closed = false;
      for (const line of out.split('\n')) {
        const words = line.split(' ');
        if (words[0] === 'runtime') version = words.slice(2).join(' ');
        else if (words[0] === 'probe' && words[1] !== undefined) results.set(`probe:${words[1]}`, words[2] ?? '?');
        else if ((words[0] === 'pass' || words[0] === 'fail') && words[1] !== undefined) results.set(words[1], words[0]);
        if (/^\d+ passed, \d+ failed$/.test(line)) closed = true;
      }
      const problem = closed ? undefined : `ended (${sig ?? code}) without its closing line; stderr: ${err.trim().slice(-500)}`;
      resolve({ column, version, results, problem, output: out, warnings: warningsIn(err) });
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

let passed = 0;
let documented = 0;
const problems: string[] = [];
const reference = runs[0]!; // Node 24, its defaults
for (const run of runs) {
  if (run.problem !== undefined) problems.push(`${run.column.title}: ${run.problem}`);
  else for (const problem of warningProblems(run, reference)) problems.push(`${run.column.title}: ${problem}`);
  const listed = gaps[run.column.runtime] ?? {};
  for (const [id, result] of run.results) {
    if (id.startsWith('probe:')) continue;
    if (result === 'pass') {
      passed++;
      if (listed[id] !== undefined) problems.push(`${run.column.title}: ${id} passes but gaps.ts lists it as a gap: remove the entry`);
    } else if (listed[id] !== undefined) documented++;
    else {
      problems.push(`${run.column.title}: ${id} fails and is not a documented gap`);
    }
  }
}

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
for (const problem of problems) console.log(`problem: ${problem}`);
console.log(`documented gaps: ${documented}`);
// Every problem is one failure: an undocumented failing cell, a stale gap, a run that broke, a stale table.
console.log(`runtimes: ${passed} passed, ${problems.length} failed`);
process.exit(problems.length === 0 ? 0 : 1);
