import { fmtInt, progress } from './progress.ts';
import { newVariant, type ScenarioResult, type VariantResult } from './results.ts';
import { spread } from './stats.ts';

/** The figures of one measured run. */
export interface RunFigures {
  readonly requests: number;
  readonly throughput: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Server CPU (all server processes of the variant) per request, µs. */
  readonly cpuUs: number;
  /** Load generator CPU per request, µs (it includes the client side of gRPC variants). */
  readonly clientCpuUs: number;
  readonly errors: number;
  readonly non2xx: number;
  readonly errorSample?: string | undefined;
}

/** A variant whose servers are up. */
export interface Running {
  /** One run, bounded by `durationS` and `maxRequests`, whichever comes first. */
  run(durationS: number, maxRequests: number): Promise<RunFigures>;
  /** Counters the servers keep (spans exported…), read once after the last run. */
  stats(): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
}

/** A variant of a load scenario. */
export interface LoadVariant {
  readonly name: string;
  readonly description: string;
  /** Why it cannot run here (a package not built yet); then it is reported as not measured. */
  readonly unavailable?: string | undefined;
  start(): Promise<Running>;
}

/** How long and how often each variant runs. */
export interface RoundsPlan {
  readonly rounds: number;
  readonly warmupS: number;
  readonly runS: number;
  readonly maxRequests: number;
}

const METRICS = ['throughput', 'p50Ms', 'p99Ms', 'cpuUs', 'clientCpuUs'] as const;

/**
 * Runs every variant `plan.rounds` times, alternating round by round (variant order rotated each
 * round) so that slow drifts of a noisy machine hit every variant alike; records medians, spreads
 * and per-round ratios to `scenario.baseline`. Failures are recorded in the variant and `problems`.
 */
export async function measureRounds(
  scenario: ScenarioResult,
  variants: readonly LoadVariant[],
  plan: RoundsPlan,
  problems: string[],
): Promise<void> {
  const label = `${scenario.id} ${scenario.title}`;
  const up: { v: LoadVariant; result: VariantResult; running: Running }[] = [];
  try {
    // Start every variant's processes at once (start-up is most of a short run's time), then
    // warm each up in turn.
    const started = await Promise.all(
      variants.map(async (v) => {
        const result = newVariant(v.name, v.description);
        scenario.variants.push(result);
        if (v.unavailable !== undefined) {
          result.status = 'not measured';
          result.note = v.unavailable;
          progress(`${label} · ${v.name} · ${v.unavailable}`);
          return undefined;
        }
        try {
          return { v, result, running: await v.start() };
        } catch (error) {
          fail(result, error, problems, label);
          return undefined;
        }
      }),
    );
    for (const u of started) if (u !== undefined) up.push(u);
    for (const { v, result, running } of up) {
      try {
        progress(`${label} · ${v.name} · warm-up ${plan.warmupS} s`);
        account(result, await running.run(plan.warmupS, plan.maxRequests), problems, label, 'warm-up');
      } catch (error) {
        fail(result, error, problems, label);
      }
    }
    for (let round = 0; round < plan.rounds; round++) {
      for (let i = 0; i < up.length; i++) {
        const { v, result, running } = up[(i + round) % up.length]!;
        if (result.status === 'failed') continue;
        try {
          const f = await running.run(plan.runS, plan.maxRequests);
          account(result, f, problems, label, `run ${round + 1}`);
          result.runs.push({ round, ...pick(f) });
          progress(
            `${label} · ${v.name} · run ${round + 1}/${plan.rounds} · ${fmtInt(f.throughput)} ${scenario.unit}/s · ` +
              `p99 ${f.p99Ms.toFixed(2)} ms · ${f.cpuUs.toFixed(1)} µs CPU/${scenario.unit}`,
          );
        } catch (error) {
          fail(result, error, problems, label);
        }
      }
    }
    for (const { result, running } of up) {
      if (result.status !== 'measured') continue;
      result.extra = { ...result.extra, ...(await running.stats().catch((e: unknown) => ({ statsError: String(e) }))) };
    }
  } finally {
    await Promise.all(up.map(({ running }) => running.stop().catch(() => undefined)));
  }
  summarize(scenario);
}

function pick(f: RunFigures): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of METRICS) out[m] = f[m];
  out.requests = f.requests;
  return out;
}

function account(result: VariantResult, f: RunFigures, problems: string[], label: string, which: string): void {
  result.errors += f.errors;
  result.non2xx += f.non2xx;
  if (f.errors > 0 || f.non2xx > 0) {
    const msg = `${label} · ${result.name} · ${which}: ${f.errors} errors, ${f.non2xx} non-2xx${f.errorSample ? ` (${f.errorSample})` : ''}`;
    problems.push(msg);
    progress(msg);
  }
  if (f.requests === 0) {
    const msg = `${label} · ${result.name} · ${which}: no request completed`;
    problems.push(msg);
    progress(msg);
  }
}

function fail(result: VariantResult, error: unknown, problems: string[], label: string): void {
  result.status = 'failed';
  const text = error instanceof Error ? error.message : String(error);
  result.note = text.split('\n').slice(0, 6).join(' | ');
  problems.push(`${label} · ${result.name} · crashed: ${result.note}`);
  progress(`${label} · ${result.name} · FAILED: ${result.note}`);
}

/** Medians and spreads of every metric; ratios to the baseline from runs of the same round. */
export function summarize(scenario: ScenarioResult): void {
  const base = scenario.variants.find((v) => v.name === scenario.baseline && v.status === 'measured');
  for (const v of scenario.variants) {
    if (v.status !== 'measured' || v.runs.length === 0) continue;
    for (const m of METRICS) v.metrics[m] = spread(v.runs.map((r) => r[m]!));
    if (base === undefined) continue;
    for (const m of ['throughput', 'cpuUs', 'clientCpuUs', 'p99Ms'] as const) {
      const ratios: number[] = [];
      for (const r of v.runs) {
        const b = base.runs.find((x) => x.round === r.round);
        if (b !== undefined && b[m]! > 0) ratios.push(r[m]! / b[m]!);
      }
      if (ratios.length > 0) v.ratios[m] = spread(ratios);
    }
  }
}
