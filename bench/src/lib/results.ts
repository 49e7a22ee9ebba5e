import type { Machine } from './machine.ts';
import type { Spread } from './stats.ts';

/** Whether a variant was measured, and if not why. */
export type VariantStatus = 'measured' | 'not measured' | 'failed';

/** One variant of a scenario: its figures (median, min, max over runs) and its ratios to the baseline. */
export interface VariantResult {
  readonly name: string;
  readonly description: string;
  status: VariantStatus;
  /** Why it was not measured, or how it failed. */
  note?: string | undefined;
  /** Figures by metric name (`throughput`, `p50Ms`, `p99Ms`, `cpuUs`, `clientCpuUs`, `nsPerOp`…). */
  metrics: Record<string, Spread>;
  /** Ratios to the scenario's baseline, from runs of the same round, by metric name. */
  ratios: Record<string, Spread>;
  /** Every run's raw figures, in order. */
  runs: Record<string, number>[];
  /** Requests with transport errors, and answers that were not 2xx (or not OK for gRPC). */
  errors: number;
  non2xx: number;
  /** Anything the scenario wants to keep (spans exported, status counts, error sample). */
  extra: Record<string, unknown>;
}

/** A target of the issue, checked against this run's figures (reported, never asserted). */
export interface TargetResult {
  readonly text: string;
  readonly value: string;
  /** `undefined` when it could not be checked (a variant was not measured). */
  readonly met: boolean | undefined;
}

/** One scenario's results. */
export interface ScenarioResult {
  readonly id: string;
  readonly title: string;
  readonly kind: 'load' | 'micro' | 'soak';
  /** Name of the variant the ratios refer to. */
  readonly baseline: string | undefined;
  /** What one request is called in this scenario (`req`, `call`). */
  readonly unit: string;
  /** How it was measured (connections, durations, rounds). */
  readonly method: string;
  readonly variants: VariantResult[];
  readonly targets: TargetResult[];
  readonly notes: string[];
  /** Soak checkpoints and the like. */
  extra: Record<string, unknown>;
  /** Wall time the scenario took, s. */
  elapsedS: number;
}

/** Everything one benchmark run produced. */
export interface RunResults {
  readonly date: string;
  readonly mode: 'full' | 'quick';
  readonly machine: Machine;
  readonly command: string;
  readonly scenarios: ScenarioResult[];
  elapsedS: number;
  /** Problems that make the run fail (crashes, errors, non-2xx). */
  readonly problems: string[];
}

/** A fresh variant record. */
export function newVariant(name: string, description: string): VariantResult {
  return { name, description, status: 'measured', metrics: {}, ratios: {}, runs: [], errors: 0, non2xx: 0, extra: {} };
}
