/** The targets, checked against one run's figures: reported, never asserted. */
import type { ScenarioResult, TargetResult } from '../lib/results.ts';
import { type Spread, spread } from '../lib/stats.ts';

function fmt(r: Spread): string {
  return `${r.median.toFixed(3)}× (${r.min.toFixed(3)}–${r.max.toFixed(3)})`;
}

/** `variant`'s ratio to the baseline on `metric`, met when the median is ≥ `min` (or just reported). */
export function ratioTarget(s: ScenarioResult, variant: string, metric: string, min: number | undefined, text: string): TargetResult {
  const v = s.variants.find((x) => x.name === variant);
  const r = v?.ratios[metric];
  if (v === undefined || v.status !== 'measured' || r === undefined) {
    return { text, value: v?.note ?? 'not measured', met: undefined };
  }
  return { text, value: fmt(r), met: min === undefined ? undefined : r.median >= min };
}

/**
 * Per-round ratio of `a` to `b` on `metric` (throughput by default). Met when the median is at
 * least `min`; "no slower than" uses 0.98, the run-to-run noise of a 2-core machine.
 */
export function relativeTarget(s: ScenarioResult, a: string, b: string, text: string, min = 0.98, metric = 'throughput'): TargetResult {
  const va = s.variants.find((x) => x.name === a);
  const vb = s.variants.find((x) => x.name === b);
  if (va?.status !== 'measured' || vb?.status !== 'measured') {
    return { text, value: va?.status !== 'measured' ? (va?.note ?? 'not measured') : (vb?.note ?? 'not measured'), met: undefined };
  }
  const ratios: number[] = [];
  for (const r of va.runs) {
    const o = vb.runs.find((x) => x.round === r.round);
    if (o !== undefined && o[metric]! > 0) ratios.push(r[metric]! / o[metric]!);
  }
  if (ratios.length === 0) return { text, value: 'no common rounds', met: undefined };
  const r = spread(ratios);
  // min 0: informational, no threshold.
  if (min <= 0) return { text, value: fmt(r), met: undefined };
  return { text: `${text} (${a} ÷ ${b}, met at ≥ ${min})`, value: fmt(r), met: r.median >= min };
}

/**
 * Per-round difference of `variant`'s server CPU per request over the baseline's, µs; met when
 * the median is at most `maxUs` (`undefined`: reported only).
 */
export function cpuOverTarget(s: ScenarioResult, variant: string, maxUs: number | undefined, text: string): TargetResult {
  const v = s.variants.find((x) => x.name === variant);
  const base = s.variants.find((x) => x.name === s.baseline);
  if (v?.status !== 'measured' || base?.status !== 'measured') return { text, value: v?.note ?? 'not measured', met: undefined };
  const diffs: number[] = [];
  for (const r of v.runs) {
    const b = base.runs.find((x) => x.round === r.round);
    if (b !== undefined) diffs.push(r.cpuUs! - b.cpuUs!);
  }
  if (diffs.length === 0) return { text, value: 'no common rounds', met: undefined };
  const d = spread(diffs);
  const us = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(2)}`;
  const value = `${us(d.median)} µs (${us(d.min)} to ${us(d.max)})`;
  if (maxUs === undefined) return { text, value, met: undefined };
  return { text: `${text} (met at ≤ +${maxUs} µs)`, value, met: d.median <= maxUs };
}

/**
 * Calls per CPU-second of both ends (server and client processes), `a` ÷ `b`, per round: where
 * the client and the server share the cores, what the pair of them pays per call bounds
 * throughput more steadily than one slice's calls/s. Reported only.
 */
export function bothEndsTarget(s: ScenarioResult, a: string, b: string, text: string): TargetResult {
  const va = s.variants.find((x) => x.name === a);
  const vb = s.variants.find((x) => x.name === b);
  if (va?.status !== 'measured' || vb?.status !== 'measured') return { text, value: 'not measured', met: undefined };
  const ratios: number[] = [];
  for (const r of va.runs) {
    const o = vb.runs.find((x) => x.round === r.round);
    // Only rounds where both ends of both variants were measured: half a sum is no ratio.
    if (o === undefined || r.cpuUs === undefined || r.clientCpuUs === undefined || o.cpuUs === undefined || o.clientCpuUs === undefined) continue;
    const mine = r.cpuUs + r.clientCpuUs;
    const theirs = o.cpuUs + o.clientCpuUs;
    if (mine > 0 && theirs > 0) ratios.push(theirs / mine);
  }
  if (ratios.length === 0) return { text, value: 'no common rounds', met: undefined };
  return { text, value: fmt(spread(ratios)), met: undefined };
}

/**
 * ctxkit with OpenTelemetry costs no more server CPU per request over bare than the two alone
 * added up: (ctxkit-otel − bare) ≤ (otel − bare) + (ctxkit − bare), per round, medians.
 */
export function otelSumTarget(s: ScenarioResult): TargetResult {
  const text = 'ctxkit + OpenTelemetry server CPU over bare ≤ OpenTelemetry alone + ctxkit alone';
  const find = (n: string) => s.variants.find((x) => x.name === n && x.status === 'measured');
  const [both, otel, kit, base] = [find('ctxkit-otel'), find('otel'), find('ctxkit'), find(s.baseline ?? 'bare')];
  if (both === undefined || otel === undefined || kit === undefined || base === undefined) return { text, value: 'not measured', met: undefined };
  const excess: number[] = [];
  for (const r of both.runs) {
    const at = (v: typeof both) => v.runs.find((x) => x.round === r.round)?.cpuUs;
    const [o, k, b] = [at(otel), at(kit), at(base)];
    if (o === undefined || k === undefined || b === undefined) continue;
    excess.push(r.cpuUs! - b - (o - b) - (k - b));
  }
  if (excess.length === 0) return { text, value: 'no common rounds', met: undefined };
  const d = spread(excess);
  const us = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(2)}`;
  return { text: `${text} (together − sum of the parts, µs; met at ≤ 0)`, value: `${us(d.median)} µs (${us(d.min)} to ${us(d.max)})`, met: d.median <= 0 };
}
