import { parseArgs } from 'node:util';

/** What the command line asked for. */
export interface Options {
  /** Smoke test: every scenario briefly, results to results/tmp/. */
  readonly quick: boolean;
  /** Major version of Node to run on (22 or 24); `undefined` = the running one. */
  readonly node: number | undefined;
  /** Scenario ids to run (`s1`…`s6`); empty = all. */
  readonly only: readonly string[];
  /** Run the server processes with --cpu-prof (profiles in results/tmp/profiles/). */
  readonly cpuProf: boolean;
}

const USAGE = `usage: npm run bench -w @ctxkit/bench [-- --quick] [--node 22|24] [--only s1,s3b,...]
  --quick     run every scenario briefly as a smoke test (results in bench/results/tmp/)
  --node N    run on the repo's other supported Node (22 or 24)
  --only ids  run only these scenarios (s1 s1b s2 s2b s3 s3b s4 s5 s6); results go to results/tmp/
  --cpu-prof  write a V8 CPU profile of every server process to bench/results/tmp/profiles/`;

/** Parses `argv` (without node and script) with `node:util.parseArgs`. @throws Error with the usage on a bad argument. */
export function parseOptions(argv: readonly string[]): Options {
  let values: { quick?: boolean; node?: string; only?: string; 'cpu-prof'?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        quick: { type: 'boolean' },
        node: { type: 'string' },
        only: { type: 'string' },
        'cpu-prof': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${USAGE}`);
  }
  if (values.help === true) throw new Error(USAGE);
  const node = values.node === undefined ? undefined : Number(values.node);
  if (node !== undefined && node !== 22 && node !== 24) throw new Error(`--node takes 22 or 24\n${USAGE}`);
  const only = (values.only ?? '').split(',').filter(Boolean);
  return { quick: values.quick === true, node, only: only.map((s) => s.toLowerCase()), cpuProf: values['cpu-prof'] === true };
}
