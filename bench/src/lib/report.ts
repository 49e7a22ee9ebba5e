import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Checkpoint, SoakSlope } from '../scenarios/soak.ts';
import { fmtInt } from './progress.ts';
import type { RunResults, ScenarioResult, VariantResult } from './results.ts';
import type { Spread } from './stats.ts';

function range(s: Spread | undefined, digits: number, int = false): string {
  if (s === undefined) return '–';
  const f = (n: number) => (int ? fmtInt(n) : n.toFixed(digits));
  return `${f(s.median)} <sub>(${f(s.min)}–${f(s.max)})</sub>`;
}

function ratio(s: Spread | undefined): string {
  return s === undefined ? '–' : `${s.median.toFixed(3)}× <sub>(${s.min.toFixed(2)}–${s.max.toFixed(2)})</sub>`;
}

function notMeasuredRow(v: VariantResult, columns: number): string {
  const cells = Array(columns - 2).fill('–');
  return `| ${v.name} | **${v.status === 'failed' ? 'FAILED' : 'not measured'}**: ${v.note ?? ''} | ${cells.join(' | ')} |`;
}

function loadTable(s: ScenarioResult): string[] {
  const u = s.unit;
  const b = s.baseline ?? 'baseline';
  const head = `| variant | ${u}/s | × ${b} | p50 ms | p99 ms | server CPU µs/${u} | CPU × ${b} | load-gen CPU µs/${u} |`;
  const lines = [head, '|---|---:|---:|---:|---:|---:|---:|---:|'];
  for (const v of s.variants) {
    if (v.status !== 'measured') {
      lines.push(notMeasuredRow(v, 8));
      continue;
    }
    const m = v.metrics;
    const isBase = v.name === s.baseline;
    lines.push(
      `| ${v.name} | ${range(m.throughput, 0, true)} | ${isBase ? '1 (baseline)' : ratio(v.ratios.throughput)} | ` +
        `${range(m.p50Ms, 2)} | ${range(m.p99Ms, 2)} | ${range(m.cpuUs, 1)} | ${isBase ? '1' : ratio(v.ratios.cpuUs)} | ${range(m.clientCpuUs, 1)} |`,
    );
  }
  return lines;
}

function microTable(s: ScenarioResult): string[] {
  const lines = ['| benchmark | ns/op | × getStore | what |', '|---|---:|---:|---|'];
  for (const v of s.variants) {
    if (v.status !== 'measured') {
      lines.push(notMeasuredRow(v, 4));
      continue;
    }
    lines.push(`| ${v.name} | ${range(v.metrics.nsPerOp, 1)} | ${ratio(v.ratios.nsPerOp)} | ${v.description} |`);
  }
  return lines;
}

function soakTables(s: ScenarioResult): string[] {
  const out: string[] = [];
  for (const v of s.variants) {
    out.push(`**${v.name}** — ${v.description}`, '');
    if (v.status !== 'measured') out.push(`**${v.status === 'failed' ? 'FAILED' : 'not measured'}**: ${v.note ?? ''}`, '');
    const points = (v.extra.checkpoints ?? []) as Checkpoint[];
    if (points.length === 0) continue;
    const names = Object.keys(points[0]!.servers);
    out.push(`| requests | ${names.map((n) => `${n} heap MiB | ${n} handles`).join(' | ')} |`);
    out.push(`|---:|${names.map(() => '---:|---:').join('|')}|`);
    for (const p of points) {
      out.push(`| ${fmtInt(p.requests)} | ${names.map((n) => `${(p.servers[n]!.heapUsed / 2 ** 20).toFixed(2)} | ${p.servers[n]!.handles}`).join(' | ')} |`);
    }
    out.push('');
    const slopes = (v.extra.slopes ?? {}) as Record<string, SoakSlope>;
    for (const [n, sl] of Object.entries(slopes)) {
      out.push(
        `- ${n}: heap slope ${sl.heapBytesPer1kReq.toFixed(1)} bytes per 1k requests over all checkpoints, ` +
          `${sl.steadyHeapBytesPer1kReq.toFixed(1)} from the second one on (first→last ${(sl.heapDeltaBytes / 1024).toFixed(1)} KiB); ` +
          `handles slope ${sl.handlesPer1kReq.toFixed(4)} per 1k requests (first→last ${sl.handlesDelta >= 0 ? '+' : ''}${sl.handlesDelta})`,
      );
    }
    const t = v.extra.totals as
      | { sent: number; ok: number; deadline504: number; disconnected: number; unexpected: number; knownResets: number; throughput: number }
      | undefined;
    if (t !== undefined) {
      out.push(
        `- after warm-up: ${fmtInt(t.sent)} requests at ${fmtInt(t.throughput)} req/s: ${fmtInt(t.ok)} 200, ${fmtInt(t.deadline504)} 504 (budget ran out, expected), ` +
          `${fmtInt(t.disconnected)} client hang-ups, ${fmtInt(t.unexpected)} other answers` +
          (t.knownResets > 0
            ? `, of which ${fmtInt(t.knownResets)} were 5xx caused by the gRPC service's HTTP/2 session being closed by Node's ` +
              'RST_STREAM rate limiter (rapid-reset mitigation: burst 1000, then 33 resets/s per session; grpc/grpc-node#2872): ' +
              'the cancelled calls of hanging-up clients exceed it on one channel. Reported, not counted as errors.'
            : ''),
      );
    }
    if (v.extra.serverStats !== undefined) out.push(`- server counters: \`${JSON.stringify(v.extra.serverStats)}\``);
    out.push('');
  }
  return out;
}

/** The results as Markdown. */
export function toMarkdown(r: RunResults): string {
  const m = r.machine;
  const out: string[] = [
    '# ctxkit benchmarks',
    '',
    `- Date: ${r.date} · mode: ${r.mode} · command: \`${r.command}\` · took ${Math.round(r.elapsedS)} s`,
    `- Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB RAM, ${m.platform}`,
    `- Node ${m.node} (V8 ${m.v8})`,
    '- Compare figures within this run only: the machine is shared and noisy. Ratios are medians of per-round ratios ' +
      '(each variant against the baseline measured in the same round).',
    '- Server and load generator share the cores: req/s is bounded by both, so its ratios are compressed and noisy; ' +
      "server CPU µs per request (the server processes' `process.cpuUsage()` delta over a run ÷ requests) is the steadier measure of what a variant costs.",
    '',
  ];
  if (r.mode === 'quick') out.push('> Smoke run (`--quick`): runs are too short for the figures to mean anything.', '');
  if (r.problems.length > 0) {
    out.push('## Problems', '', ...r.problems.map((p) => `- ${p}`), '');
  }
  const targets = r.scenarios.flatMap((s) => s.targets.map((t) => ({ s: s.id, ...t })));
  if (targets.length > 0) {
    out.push('## Targets', '', '| scenario | target | this run | met |', '|---|---|---|---|');
    for (const t of targets) out.push(`| ${t.s} | ${t.text} | ${t.value} | ${t.met === undefined ? '–' : t.met ? 'yes' : '**no**'} |`);
    out.push('');
    if (targets.some((t) => t.met === false)) {
      out.push('Where a target is missed, what was profiled, what was fixed and what the rest costs: [bench/README.md](../README.md#where-a-target-is-missed-last-full-run-resultslatestmd).', '');
    }
  }
  for (const s of r.scenarios) {
    out.push(`## ${s.id}. ${s.title}`, '', `_${s.method}_ (${s.elapsedS} s)`, '');
    if (s.kind === 'load') out.push(...loadTable(s));
    else if (s.kind === 'micro') out.push(...microTable(s));
    else out.push(...soakTables(s));
    out.push('');
    if (s.kind !== 'soak' && s.kind !== 'micro') {
      for (const v of s.variants) {
        const extra = Object.keys(v.extra).length > 0 ? ` — ${JSON.stringify(v.extra)}` : '';
        out.push(`- **${v.name}**: ${v.description}${extra}`);
      }
      out.push('');
    }
    for (const n of s.notes) out.push(`> ${n}`, '');
  }
  return `${out.join('\n')}\n`;
}

/** Writes `<dir>/<base>.md` and `.json`; returns their paths. */
export function writeResults(r: RunResults, dir: string, base: string): string[] {
  mkdirSync(dir, { recursive: true });
  const md = join(dir, `${base}.md`);
  const json = join(dir, `${base}.json`);
  writeFileSync(md, toMarkdown(r));
  writeFileSync(json, `${JSON.stringify(r, null, 2)}\n`);
  return [md, json];
}
