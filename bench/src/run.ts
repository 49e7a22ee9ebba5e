/**
 * ctxkit benchmarks: every scenario of issue 10, each server and load generator in its own
 * process. `node src/run.ts [--quick] [--node 22|24] [--only s1,s3]`. Exits non-zero only when a
 * scenario crashed or answered errors / non-2xx, never because of a figure.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { killAll, liveChildren } from './lib/children.ts';
import { describeMachine } from './lib/machine.ts';
import { type Options, parseOptions } from './lib/options.ts';
import { elapsedS, progress } from './lib/progress.ts';
import { writeResults } from './lib/report.ts';
import type { RunResults, ScenarioResult } from './lib/results.ts';
import { type ScenarioEnv, setServerFlags } from './scenarios/common.ts';
import { grpcStreamScenario, grpcUnaryScenario } from './scenarios/grpc.ts';
import { chainScenario, expressBoundScenario, expressScenario, fastifyBoundScenario, fastifyScenario } from './scenarios/http.ts';
import { microScenario } from './scenarios/micro.ts';
import { FULL, QUICK } from './scenarios/plan.ts';
import { soakScenario } from './scenarios/soak.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const NODE_BIN: Record<number, string> = {
  22: `${ROOT}node_modules/node22/bin/node`,
  24: `${ROOT}node_modules/node/bin/node`,
};
const RESULTS = fileURLToPath(new URL('../results/', import.meta.url));

const SCENARIOS: { id: string; run: (env: ScenarioEnv) => Promise<ScenarioResult> }[] = [
  { id: 's5', run: microScenario },
  { id: 's1', run: fastifyScenario },
  { id: 's1b', run: fastifyBoundScenario },
  { id: 's2', run: expressScenario },
  { id: 's2b', run: expressBoundScenario },
  { id: 's3', run: grpcUnaryScenario },
  { id: 's3b', run: grpcStreamScenario },
  { id: 's4', run: chainScenario },
  { id: 's6', run: soakScenario },
];

/** The whole run may not take longer than this; then every child is killed and the run fails. */
const WATCHDOG_S = { full: 35 * 60, quick: 4 * 60 };

/** Runs this script again on the other Node when `--node` asks for it; returns its exit code. */
function reexecOn(options: Options): number | undefined {
  const major = Number(process.versions.node.split('.')[0]);
  if (options.node === undefined || options.node === major) return undefined;
  const bin = NODE_BIN[options.node]!;
  progress(`re-running on Node ${options.node} (${bin})`);
  const r = spawnSync(bin, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
  return r.status ?? 1;
}

async function main(): Promise<number> {
  let options: Options;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    return 2;
  }
  const again = reexecOn(options);
  if (again !== undefined) return again;

  const plan = options.quick ? QUICK : FULL;
  if (options.cpuProf) {
    const dir = `${RESULTS}tmp/profiles/`;
    setServerFlags(['--cpu-prof', `--cpu-prof-dir=${dir}`]);
    progress(`server CPU profiles go to ${dir}`);
  }
  const mode = options.quick ? 'quick' : 'full';
  const watchdog = setTimeout(() => {
    progress(`watchdog: the run exceeded ${WATCHDOG_S[mode]} s; killing every child`);
    killAll();
    process.exit(1);
  }, WATCHDOG_S[mode] * 1000);
  watchdog.unref();

  const selected = options.only.length === 0 ? SCENARIOS : SCENARIOS.filter((s) => options.only.includes(s.id));
  if (selected.length === 0) {
    process.stderr.write(`no scenario matches --only ${options.only.join(',')}\n`);
    return 2;
  }
  const problems: string[] = [];
  const results: RunResults = {
    date: new Date().toISOString(),
    mode,
    machine: describeMachine(),
    command: `node src/run.ts ${process.argv.slice(2).join(' ')}`.trim(),
    scenarios: [],
    elapsedS: 0,
    problems,
  };
  progress(`ctxkit bench · ${mode} · Node ${process.version} · ${results.machine.cpu} × ${results.machine.cores} · scenarios ${selected.map((s) => s.id).join(' ')}`);
  for (const s of selected) {
    try {
      results.scenarios.push(await s.run({ plan, problems }));
    } catch (error) {
      const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
      problems.push(`${s.id} · crashed: ${text.split('\n').slice(0, 4).join(' | ')}`);
      progress(`${s.id} · CRASHED: ${text}`);
      killAll();
    }
  }
  results.elapsedS = elapsedS();

  // Only a complete full run on the pinned Node replaces latest.*; everything else is scratch.
  const major = Number(process.versions.node.split('.')[0]);
  const complete = !options.quick && options.only.length === 0 && !options.cpuProf;
  const [dir, base] = complete
    ? [RESULTS, major === 24 ? 'latest' : `latest-node${major}`]
    : [`${RESULTS}tmp/`, options.quick ? `quick-node${major}` : `partial-node${major}`];
  const files = writeResults(results, dir, base);
  progress(`results: ${files.join(', ')}`);
  if (liveChildren() > 0) {
    problems.push(`${liveChildren()} child processes still alive at the end`);
    killAll();
  }
  if (problems.length > 0) {
    progress(`${problems.length} problem(s):\n  ${problems.join('\n  ')}`);
    return 1;
  }
  progress(`done in ${Math.round(elapsedS())} s, no errors`);
  return 0;
}

process.on('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    killAll();
    process.exit(130);
  });
}
process.on('uncaughtException', (error) => {
  process.stderr.write(`uncaught: ${error.stack ?? error.message}\n`);
  killAll();
  process.exit(1);
});

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
    killAll();
    process.exitCode = 1;
  },
);
