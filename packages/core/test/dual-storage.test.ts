import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const here = fileURLToPath(new URL('.', import.meta.url));

// A separate process: the built ESM and CJS copies loaded side by side, as an app mixing both would.
describe('one storage per process', () => {
  it('a context set through import is seen through require, and errors match across copies', () => {
    const out = execFileSync(process.execPath, [`${here}fixtures/dual.mjs`], { encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual({
      distinctCopies: true,
      seenThroughRequire: 'u-1',
      seenThroughImport: 'u-2',
      keyDeclaredInOneIsKnownInOther: 'acme',
      errorsMatch: true,
      errorsStayDistinct: true,
    });
  });
});
