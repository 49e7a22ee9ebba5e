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
  --only ids  run only these scenarios (s1 s2 s3 s3b s4 s5 s6); results go to results/tmp/
  --cpu-prof  write a V8 CPU profile of every server process to bench/results/tmp/profiles/`;

/** Parses `argv` (without node and script). @throws Error with the usage on a bad argument. */
export function parseOptions(argv: readonly string[]): Options {
  let quick = false;
  let node: number | undefined;
  let only: string[] = [];
  let cpuProf = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--quick') quick = true;
    else if (arg === '--node') node = Number(argv[++i]);
    else if (arg.startsWith('--node=')) node = Number(arg.slice(7));
    else if (arg === '--only') only = (argv[++i] ?? '').split(',').filter(Boolean);
    else if (arg.startsWith('--only=')) only = arg.slice(7).split(',').filter(Boolean);
    else if (arg === '--cpu-prof') cpuProf = true;
    else if (arg === '--help' || arg === '-h') throw new Error(USAGE);
    else throw new Error(`unknown argument ${arg}\n${USAGE}`);
  }
  if (node !== undefined && node !== 22 && node !== 24) throw new Error(`--node takes 22 or 24\n${USAGE}`);
  return { quick, node, only: only.map((s) => s.toLowerCase()), cpuProf };
}
