import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, expect, it } from 'vitest';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));

// Each script mounts the built middleware on a real Express 5 and Express 4 app listening on
// 127.0.0.1, serves one real request with a JSON body, and prints what the handler saw.
const body = `
  const results = [];
  for (const express of [express5, express4]) {
    const app = express();
    app.use(ctxkit({ defaultTimeoutMs: 1000, trust: 'internal' }));
    app.use(express.json());
    app.post('/', (req, res) => res.json({ same: currentContext() === req.ctx, user: req.ctx.userId, body: req.body }));
    app.use(ctxkitErrorHandler({ logger: false }));
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const res = await fetch('http://127.0.0.1:' + server.address().port + '/', {
      method: 'POST', headers: { 'user-id': 'u-1', 'content-type': 'application/json' }, body: '{"a":1}',
    });
    results.push({ status: res.status, json: await res.json(), echo: res.headers.get('trace-id') !== null });
    server.close();
  }
  console.log(JSON.stringify({ kinds: [typeof ctxkit, typeof ctxkitErrorHandler, ctxkitErrorHandler().length], results }));`;
// Each reads the context through core's other build (CJS from ESM, ESM from CJS): two loaded
// copies of core must share one storage.
const esm = `import express5 from 'express'; import express4 from 'express4'; import { createRequire } from 'node:module'; import { ctxkit, ctxkitErrorHandler } from '@ctxkit/express'; const { currentContext } = createRequire(import.meta.url)('@ctxkit/core');${body}`;
const cjs = `const express5 = require('express'); const express4 = require('express4'); const { ctxkit, ctxkitErrorHandler } = require('@ctxkit/express'); (async () => { const { currentContext } = await import('@ctxkit/core');${body}})();`;

// The built package is turbo's `build`, which `test` depends on. Rebuilding here (tsdown cleans
// dist/ first) raced every task reading dist/ at the same time.
beforeAll(() => {
  if (!existsSync(`${root}dist/index.mjs`) || !existsSync(`${root}dist/index.cjs`)) {
    throw new Error('dist/ is missing: run `npm run build` in this package (turbo does it before `test`)');
  }
});

it.each([
  ['import', ['--input-type=module', '-e', esm]],
  ['require', ['--input-type=commonjs', '-e', cjs]],
])('the built package works through %s, on Express 5 and 4', async (_kind, args) => {
  const { stdout } = await run(process.execPath, args, { cwd: root, timeout: 20_000 });
  const out = JSON.parse(stdout.trim());
  const served = { status: 200, json: { same: true, user: 'u-1', body: { a: 1 } }, echo: true };
  expect(out).toEqual({ kinds: ['function', 'function', 4], results: [served, served] });
});
