import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

// The published entry points, as an application loads them: ESM import and CommonJS require.
const root = fileURLToPath(new URL('..', import.meta.url));
const EXPORTS = ['clientInterceptor', 'serverInterceptor', 'wrapService', 'statusError', 'Status', 'toHttpStatus', 'ClientPool', 'serverKeepalive', 'channelKeepalive', 'aggressiveChannelKeepalive'];

beforeAll(() => {
  // turbo builds before testing; a bare `vitest run` in a fresh checkout builds here.
  if (!existsSync(`${root}dist/index.mjs`) || !existsSync(`${root}dist/index.cjs`)) {
    execFileSync('npx', ['tsdown'], { cwd: root, stdio: 'ignore', timeout: 120_000 });
  }
}, 150_000);

function run(code: string, type: 'module' | 'commonjs'): string {
  return execFileSync(process.execPath, [`--input-type=${type}`, '-e', code], { cwd: root, encoding: 'utf8', timeout: 30_000 });
}

describe('the built package', () => {
  it('imports as ESM', () => {
    const out = run(`import * as m from '@ctxkit/grpc'; console.log(JSON.stringify(Object.keys(m)))`, 'module');
    expect(JSON.parse(out)).toEqual(expect.arrayContaining(EXPORTS));
  });

  it('requires as CommonJS', () => {
    const out = run(`const m = require('@ctxkit/grpc'); console.log(JSON.stringify(Object.keys(m)))`, 'commonjs');
    expect(JSON.parse(out)).toEqual(expect.arrayContaining(EXPORTS));
  });

  it('ESM and CommonJS copies share one context store', () => {
    const out = run(
      `const cjs = require('@ctxkit/core'); import('@ctxkit/core').then((esm) => {
        const ctx = cjs.createContext(); console.log(esm.runWithContext(ctx, () => cjs.currentContext() === ctx)); })`,
      'commonjs',
    );
    expect(out.trim()).toBe('true');
  });
});
