import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, expect, it } from 'vitest';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));

// Each script registers the built plugin on a real Fastify, serves one request and prints
// what the handler saw.
const body = `
  const app = Fastify();
  await app.register(ctxkit, { defaultTimeoutMs: 1000 });
  app.get('/', async (req) => ({ same: currentContext() === req.ctx, id: req.ctx.requestId }));
  const res = await app.inject('/');
  console.log(JSON.stringify({ kind: typeof ctxkit, meta: ctxkit[Symbol.for('plugin-meta')].name, body: res.json(), echo: res.headers['request-id'] }));
  await app.close();`;
const esm = `import Fastify from 'fastify'; import { ctxkit } from '@ctxkit/fastify'; import { currentContext } from '@ctxkit/core';${body}`;
const cjs = `const Fastify = require('fastify'); const { ctxkit } = require('@ctxkit/fastify'); const { currentContext } = require('@ctxkit/core'); (async () => {${body}})();`;

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
])('the built package works through %s', async (_kind, args) => {
  const { stdout } = await run(process.execPath, args, { cwd: root });
  const out = JSON.parse(stdout.trim());
  expect(out).toMatchObject({ kind: 'function', meta: '@ctxkit/fastify', body: { same: true } });
  expect(out.body.id).toMatch(/^[0-9a-f]{16}$/); // random, never Fastify's req-1
  expect(out.echo).toBe(out.body.id);
});
