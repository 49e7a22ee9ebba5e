/**
 * What the driver concludes from the runs: the results parsed from each runtime's output, and
 * every problem (a failing case that is not a documented gap, a gap that now passes, a start-up
 * warning that does not match the runtime, a run that broke). Pure, so it is tested directly.
 */
import { gaps as documentedGaps } from './gaps.ts';
import type { Column } from './matrix.ts';
import { type Run, rowIds } from './table.ts';

/** Parses one runtime's stdout and stderr into a {@link Run}. */
export function parseRun(column: Column, stdout: string, stderr: string, exit: string): Run {
  const results = new Map<string, string>();
  let version = '?';
  let closed = false;
  for (const line of stdout.split('\n')) {
    const words = line.split(' ');
    if (words[0] === 'runtime') version = words.slice(2).join(' ');
    else if (words[0] === 'probe' && words[1] !== undefined) results.set(`probe:${words[1]}`, words[2] ?? '?');
    else if ((words[0] === 'pass' || words[0] === 'fail') && words[1] !== undefined) results.set(words[1], words[0]);
    if (/^\d+ passed, \d+ failed$/.test(line)) closed = true;
  }
  const problem = closed ? undefined : `ended (${exit}) without its closing line; stderr: ${stderr.trim().slice(-500)}`;
  const warnings = stderr.split('\n').filter((line) => line.includes('[CTXKIT_RUNTIME]'));
  return { column, version, results, problem, output: stdout, warnings };
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
 * Core's start-up warning must appear once where something differs from the reference (Node
 * 24's defaults): a documented gap, or a pattern whose listener keeps the store there and not
 * here, naming each; and never where nothing differs.
 */
function warningProblems(run: Run, reference: Run, gaps: typeof documentedGaps): string[] {
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

export interface Verdict {
  readonly passed: number;
  readonly documented: number;
  readonly problems: readonly string[];
}

/** Judges the runs; the first is the reference for the start-up warning. */
export function judge(runs: readonly Run[], gaps: typeof documentedGaps = documentedGaps): Verdict {
  let passed = 0;
  let documented = 0;
  const problems: string[] = [];
  const reference = runs[0]!;
  for (const run of runs) {
    const where = run.column.title;
    if (run.problem !== undefined) problems.push(`${where}: ${run.problem}`);
    else for (const problem of warningProblems(run, reference, gaps)) problems.push(`${where}: ${problem}`);
    const listed = gaps[run.column.runtime] ?? {};
    for (const [id, result] of run.results) {
      if (!rowIds.has(id)) problems.push(`${where}: ${id} has no row in the support table (table.ts)`);
      if (id.startsWith('probe:')) continue;
      if (result === 'pass') {
        passed++;
        if (listed[id] !== undefined) problems.push(`${where}: ${id} passes but gaps.ts lists it as a gap: remove the entry`);
      } else if (listed[id] !== undefined) documented++;
      else problems.push(`${where}: ${id} fails and is not a documented gap`);
    }
  }
  return { passed, documented, problems };
}
