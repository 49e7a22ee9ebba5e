// Draws a scenario as a per-hop terminal waterfall: one line per hop, indented by depth, with
// the budget it arrived with, a bar on the request's timeline, how long it took and how it ended.
import type { Hop } from './hop.ts';
import type { Outcome } from './scenarios.ts';

// The asynchronous leg (the orders.created event, then the receipt job) is drawn only when it ran:
// it starts from a created order, after the response.
const TREE: readonly { service: string; prefix: string; async?: true }[] = [
  { service: 'gateway', prefix: '' },
  { service: 'orders', prefix: '└─ ' },
  { service: 'inventory', prefix: '   ├─ ' },
  { service: 'billing', prefix: '   ├─ ' },
  { service: 'fulfilment', prefix: '   └┄ ', async: true },
  { service: 'receipt-job', prefix: '      └┄ ', async: true },
];
const WIDTH = 36;

/** Colours for a terminal; none when output is not one (or NO_COLOR is set). */
export function palette(enabled: boolean) {
  const wrap = (code: string) => (text: string) => (enabled ? `\u001b[${code}m${text}\u001b[0m` : text);
  return { dim: wrap('2'), bold: wrap('1'), green: wrap('32'), red: wrap('31'), yellow: wrap('33'), cyan: wrap('36') };
}
type Palette = ReturnType<typeof palette>;

/** Renders one hop tree (the hops of one trace) as lines. `markMs`: an event to show (a disconnect). */
export function waterfall(hops: ReadonlyMap<string, Hop>, c: Palette, markMs?: number): string[] {
  const present = TREE.filter((t) => hops.has(t.service));
  if (present.length === 0) return ['  (no hop reported)'];
  const t0 = Math.min(...present.map((t) => hops.get(t.service)!.startedAtMs));
  const t1 = Math.max(...present.map((t) => end(hops.get(t.service)!)), markMs ?? 0);
  const scale = WIDTH / Math.max(1, t1 - t0);
  const col = (ms: number) => Math.min(WIDTH - 1, Math.max(0, Math.round((ms - t0) * scale)));
  const lines = [c.dim(`  ${'hop'.padEnd(20)} ${'budget'.padStart(8)}  ${'0 ms'.padEnd(WIDTH - 8)}${`${t1 - t0} ms`.padStart(8)}  ${'took'.padStart(7)}  status`)];
  for (const { service, prefix: drawn, async } of TREE) {
    const hop = hops.get(service);
    if (hop === undefined && async) continue;
    // billing is the last branch of orders unless the asynchronous leg follows it.
    const prefix = service === 'billing' && !hops.has('fulfilment') ? '   └─ ' : drawn;
    if (hop === undefined) {
      lines.push(c.dim(`  ${(prefix + service).padEnd(20)} ${'—'.padStart(8)}  ${' '.repeat(WIDTH)}  ${''.padStart(7)}  never called`));
      continue;
    }
    const from = col(hop.startedAtMs);
    const to = Math.max(from + 1, col(end(hop)));
    const bar = [...' '.repeat(WIDTH)];
    for (let x = from; x < to; x++) bar[x] = '█';
    if (hop.abortedAtMs > 0) bar[col(hop.abortedAtMs)] = '✕';
    if (markMs !== undefined) bar[col(markMs)] = bar[col(markMs)] === ' ' ? '┊' : bar[col(markMs)]!;
    const budget = hop.budgetAtArrivalMs < 0 ? 'none' : `${hop.budgetAtArrivalMs} ms`;
    const color = hop.status === 'OK' ? c.green : hop.status === 'CANCELLED' ? c.yellow : c.red;
    let note = '';
    if (hop.abortedAtMs > 0) {
      note = markMs === undefined ? ` (context aborted: ${hop.abortReason})` : ` (context ${hop.abortReason} +${hop.abortedAtMs - markMs} ms after the disconnect)`;
    }
    lines.push(`  ${(prefix + service).padEnd(20)} ${budget.padStart(8)}  ${c.cyan(bar.join(''))}  ${`${hop.durationMs} ms`.padStart(7)}  ${color(hop.status)}${c.dim(note)}`);
  }
  return lines;
}

/** The answer body without the hop tree the gateway returns (drawn below instead). */
function withoutHops(body: unknown): unknown {
  if (typeof body !== 'object' || body === null || !('hops' in body)) return body;
  const { hops: _hops, ...rest } = body as Record<string, unknown>;
  return rest;
}

function end(hop: Hop): number {
  return hop.startedAtMs + hop.durationMs;
}

/** Renders a whole scenario: title, request, answer, ids, waterfall and checks. */
export function renderOutcome(n: number, outcome: Outcome, c: Palette): string {
  const gateway = outcome.hops.get('gateway');
  const answer = outcome.answer.status === 0 ? String(outcome.answer.body) : `HTTP ${outcome.answer.status} ${JSON.stringify(withoutHops(outcome.answer.body))}`;
  const lines = [
    c.bold(`${n}. ${outcome.title}`),
    c.dim(`   ${outcome.request}`),
    `   → ${answer.length > 150 ? `${answer.slice(0, 150)}…` : answer}`,
    `   trace ${c.bold(outcome.traceId)}   user ${c.bold(gateway?.userId || '—')}`,
    '',
    ...waterfall(outcome.hops, c, outcome.disconnectedAtMs),
    '',
  ];
  if (gateway !== undefined && gateway.dropped.length > 0) lines.push(c.dim(`   refused at the edge: ${gateway.dropped.join('; ')}`));
  for (const check of outcome.checks) lines.push(`   ${check.ok ? c.green('✓') : c.red('✗')} ${check.what}`);
  return lines.join('\n');
}
