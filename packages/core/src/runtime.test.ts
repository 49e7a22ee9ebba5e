import { describe, expect, it } from 'vitest';
import { runtimeGaps, runtimeWarning } from './runtime.js';

describe('runtime gaps', () => {
  it('has nothing to say on Node', () => {
    expect(runtimeGaps({ node: process.versions.node })).toEqual([]);
    expect(runtimeGaps()).toEqual([]); // this process is Node
    expect(runtimeWarning([], 'Node')).toBeUndefined();
  });

  it('names what Bun and Deno do not carry, in one warning', () => {
    const bun = runtimeGaps({ node: '24.3.0', bun: '1.4.4' });
    expect(bun).toHaveLength(2);
    expect(runtimeWarning(bun, 'Bun 1.4.4')).toMatchInlineSnapshot(
      `"ctxkit on Bun 1.4.4: \`AbortSignal.timeout()\` abort listeners and \`MessageChannel\` message handlers run outside the request context: wrap them with bindContext(); Bun's built-in \`undici\` has no \`Agent.compose()\`, so undiciInterceptor() cannot be installed: use ctxFetch / createFetch. Everything else ctxkit guarantees holds here (see "Runtimes" in ctxkit's README)."`,
    );
    expect(runtimeGaps({ node: '24.2.0', deno: '2.9.6' })).toEqual([
      '`AbortSignal.timeout()` abort listeners run outside the request context: wrap them with bindContext()',
    ]);
  });
});
