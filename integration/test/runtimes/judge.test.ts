/**
 * The runtime matrix's verdicts (integration/runtimes): what makes the driver fail, and the
 * table it writes. The matrix itself runs in `npm run runtimes` and CI, not here.
 */
import { describe, expect, it } from 'vitest';
import { judge, parseRun } from '../../runtimes/judge.ts';
import type { Column } from '../../runtimes/matrix.ts';
import { renderTable, spliceTable } from '../../runtimes/table.ts';

const node: Column = { runtime: 'node', title: 'Node 24', variant: 'ACF (default)', bin: '/bin/node', args: [] };
const bun: Column = { runtime: 'bun', title: 'Bun', bin: '/bin/bun', args: [] };
const gaps = { bun: { undici: 'no compose()' } };
const WARNING = '(node:1) [CTXKIT_RUNTIME] Warning: ctxkit on Bun 1.4.4: `AbortSignal.timeout()` listeners… undici…';

function output(runtime: string, lines: string[]): string {
  const failed = lines.filter((l) => l.startsWith('fail')).length;
  const passed = lines.filter((l) => l.startsWith('pass')).length;
  return [`runtime ${runtime}`, ...lines, `${passed} passed, ${failed} failed`, ''].join('\n');
}

const nodeRun = parseRun(node, output('node 24.21.0', ['probe abortsignal-timeout-listener kept', 'pass isolation', 'pass undici']), '', '0');

describe('the runtime matrix verdict', () => {
  it('parses a run, and a run without its closing line is a problem', () => {
    expect(nodeRun.version).toBe('24.21.0');
    expect(nodeRun.results.get('probe:abortsignal-timeout-listener')).toBe('kept');
    expect(nodeRun.results.get('undici')).toBe('pass');
    const broken = parseRun(node, 'runtime node 24.21.0\npass isolation\n', 'Segmentation fault', 'SIGSEGV');
    expect(judge([broken], gaps).problems).toEqual([
      'Node 24: ended (SIGSEGV) without its closing line; stderr: Segmentation fault',
    ]);
  });

  it('counts a documented gap apart, and fails on an undocumented failure or a stale gap', () => {
    const lines = ['probe abortsignal-timeout-listener lost', 'pass isolation', 'fail undici TypeError: x'];
    const documented = judge([nodeRun, parseRun(bun, output('bun 1.4.4', lines), WARNING, '1')], gaps);
    expect(documented).toEqual({ passed: 3, documented: 1, problems: [] });
    const undocumented = judge([nodeRun, parseRun(bun, output('bun 1.4.4', lines), WARNING, '1')], { bun: {} });
    expect(undocumented.problems).toEqual(['Bun: undici fails and is not a documented gap']);
    const fixed = ['probe abortsignal-timeout-listener lost', 'pass isolation', 'pass undici'];
    expect(judge([nodeRun, parseRun(bun, output('bun 1.4.4', fixed), WARNING, '0')], gaps).problems).toEqual([
      'Bun: undici passes but gaps.ts lists it as a gap: remove the entry',
    ]);
  });

  it('needs one start-up warning naming each difference from Node, and none on Node', () => {
    const lines = ['probe abortsignal-timeout-listener lost', 'pass isolation', 'fail undici TypeError: x'];
    expect(judge([nodeRun, parseRun(bun, output('bun 1.4.4', lines), '', '1')], gaps).problems).toEqual([
      'Bun: expected one CTXKIT_RUNTIME warning naming undici, AbortSignal.timeout; got 0',
    ]);
    const vague = '(node:1) [CTXKIT_RUNTIME] Warning: ctxkit on Bun: undici';
    expect(judge([nodeRun, parseRun(bun, output('bun 1.4.4', lines), vague, '1')], gaps).problems).toEqual([
      'Bun: the start-up warning does not name AbortSignal.timeout',
    ]);
    const noisyNode = parseRun(node, output('node 24.21.0', ['pass isolation']), WARNING, '0');
    expect(judge([noisyNode], gaps).problems).toEqual([`Node 24: warned at start-up with nothing to warn about: ${WARNING}`]);
  });

  it('fails on a result the table has no row for', () => {
    const extra = parseRun(node, output('node 24.21.0', ['pass isolation', 'pass brand-new-case']), '', '0');
    expect(judge([extra], gaps).problems).toEqual(['Node 24: brand-new-case has no row in the support table (table.ts)']);
  });
});

describe('the support table', () => {
  it('shows passes, documented gaps with their note, failures, and a wrong store in bold', () => {
    const bunRun = parseRun(bun, output('bun 1.4.4', ['probe enterwith-in-exit-then-finish wrong', 'pass isolation', 'fail undici x']), WARNING, '1');
    const table = renderTable([nodeRun, bunRun]);
    expect(table).toContain('| ctxkit guarantee | Node 24.21.0, ACF (default) | Bun 1.4.4 |');
    expect(table).toMatch(/\| isolation of 40 interleaved contexts [^|]*\| ✓ \| ✓ \|/);
    expect(table).toMatch(/\| undici interceptor[^|]*\| ✓ \| gap 1 \|/);
    expect(table).toMatch(/\| `enterWith` inside `exit\(\)`[^|]*\| not run \| \*\*wrong store\*\* \|/);
    expect(table).toContain('Gap 1. Bun 1.4.4: Bun resolves `undici`');
    const failing = renderTable([parseRun(node, output('node 24.21.0', ['fail isolation x']), '', '1')]);
    expect(failing).toMatch(/\| isolation of 40 [^|]*\| ✗ \|/);
  });

  it('is spliced between its markers, and a README without them is an error', () => {
    const readme = 'before\n<!-- runtimes:start -->\nold\n<!-- runtimes:end -->\nafter\n';
    const out = spliceTable(readme, 'NEW');
    expect(out.startsWith('before\n<!-- runtimes:start -->\n')).toBe(true);
    expect(out).toContain('\n\nNEW\n\n<!-- runtimes:end -->\nafter\n');
    expect(out).not.toContain('old');
    expect(spliceTable(out, 'NEW')).toBe(out);
    expect(() => spliceTable('no markers', 'NEW')).toThrow(/markers/);
  });
});
