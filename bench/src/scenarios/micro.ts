/** Scenario 5: micro benchmarks of core, ns/op. */
import { startChild } from '../lib/children.ts';
import { progress } from '../lib/progress.ts';
import { newVariant, type ScenarioResult } from '../lib/results.ts';
import { spread } from '../lib/stats.ts';
import { finishScenario, newScenario, type ScenarioEnv } from './common.ts';

/** Runs the micro benchmarks in their own process, rounds alternating over every benchmark. */
export async function microScenario(env: ScenarioEnv): Promise<ScenarioResult> {
  const { rounds, batchMs } = env.plan.micro;
  const s = newScenario(
    'S5',
    'Micro benchmarks of @ctxkit/core',
    'micro',
    'als-getStore',
    'op',
    `each benchmark calibrated to ~${batchMs} ms per batch; ${rounds} rounds, every round times every benchmark once ` +
      `(order rotated); figure is the median ns/op (min–max over rounds)`,
  );
  const child = await startChild('micro', 'micro/micro.ts', []);
  try {
    const descriptions = await child.request<Record<string, string>>('calibrate', { batchMs }, 120_000);
    const byName = new Map<string, number[]>(Object.keys(descriptions).map((k) => [k, []]));
    for (let r = 0; r < rounds; r++) {
      const res = await child.request<Record<string, number>>('round', { index: r }, 120_000);
      for (const [k, v] of Object.entries(res)) byName.get(k)!.push(v);
      progress(`S5 micro · round ${r + 1}/${rounds} · currentContext ${res.currentContext!.toFixed(1)} ns · getStore ${res['als-getStore']!.toFixed(1)} ns`);
    }
    const base = byName.get('als-getStore')!;
    for (const [name, values] of byName) {
      const v = newVariant(name, descriptions[name]!);
      v.metrics.nsPerOp = spread(values);
      v.runs = values.map((ns, round) => ({ round, nsPerOp: ns }));
      if (name === 'currentContext' || name === 'tryCurrentContext') {
        v.ratios.nsPerOp = spread(values.map((ns, i) => ns / base[i]!));
      }
      s.variants.push(v);
    }
  } catch (error) {
    const text = error instanceof Error ? error.message : String(error);
    env.problems.push(`S5 micro · crashed: ${text}`);
    progress(`S5 micro · FAILED: ${text}`);
    const v = newVariant('micro', 'all micro benchmarks');
    v.status = 'failed';
    v.note = text;
    s.variants.push(v);
  } finally {
    await child.stop();
  }
  const cc = s.variants.find((v) => v.name === 'currentContext')?.ratios.nsPerOp;
  s.targets.push({
    text: 'currentContext() within 1.5× of a raw getStore() (per-round ratio)',
    value: cc === undefined ? 'not measured' : `${cc.median.toFixed(2)}× (${cc.min.toFixed(2)}–${cc.max.toFixed(2)})`,
    met: cc === undefined ? undefined : cc.median <= 1.5,
  });
  return finishScenario(s);
}
