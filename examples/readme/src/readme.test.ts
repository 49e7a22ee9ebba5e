import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';

const here = fileURLToPath(new URL('.', import.meta.url));
const repo = fileURLToPath(new URL('../../../', import.meta.url));
const readme = readFileSync(`${repo}README.md`, 'utf8');

/** Every ```ts block of the README, with the file its `<!-- file: … -->` marker names. */
function blocks(): Array<{ file: string | undefined; code: string }> {
  const found: Array<{ file: string | undefined; code: string }> = [];
  const re = /(?:<!-- file: (\S+) -->\n)?```ts\n([\s\S]*?)```/g;
  for (const m of readme.matchAll(re)) found.push({ file: m[1], code: m[2]! });
  return found;
}

describe('the README', () => {
  it('shows no TypeScript that is not a checked file of examples/readme', () => {
    const all = blocks();
    expect(all.length).toBeGreaterThanOrEqual(4);
    for (const { file, code } of all) {
      expect(file, `a README block has no file marker:\n${code.slice(0, 200)}`).toMatch(/^examples\/readme\/src\/\w+\.ts$/);
      expect(code, file).toBe(readFileSync(`${repo}${file}`, 'utf8'));
    }
  });
});

const running: ChildProcess[] = [];
afterEach(async () => {
  for (const child of running.splice(0)) {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
  }
});

/** Starts a snippet as `node file.ts` on an ephemeral port; resolves with its URL once it listens. */
async function start(file: string): Promise<string> {
  const child = spawn(process.execPath, [`${here}${file}`], { env: { ...process.env, PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
  running.push(child);
  let out = '';
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1];
      if (url !== undefined) resolve(url);
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.once('exit', (code) => reject(new Error(`${file} exited (${code}) before listening:\n${out}`)));
  });
}

const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const traceparent = `00-${TRACE}-00f067aa0ba902b7-01`;

describe('the quick start (a Fastify edge and one gRPC service)', () => {
  it('carries the trace id and the authenticated user to the service, and refuses a spoofed user', async () => {
    const url = await start('quickstart.ts');
    const ok = await post(`${url}/orders`, { sku: 'book' }, { authorization: 'Bearer alice', traceparent });
    expect(ok.status).toBe(200);
    const order = (await ok.json()) as { budgetMs: number };
    expect(order).toMatchObject({ sku: 'book', userId: 'alice', traceId: TRACE });
    expect(order.budgetMs).toBeGreaterThan(0);
    expect(order.budgetMs).toBeLessThanOrEqual(1_000);

    const spoofed = await post(`${url}/orders`, { sku: 'book' }, { 'user-id': 'admin' });
    expect(spoofed.status).toBe(401);
    expect(await spoofed.json()).toMatchObject({ code: 'UNAUTHENTICATED', message: 'sign in first' });
  });

  it('answers 504 when the chain outlasts the budget', async () => {
    const url = await start('quickstart.ts');
    const slow = await post(`${url}/orders`, { sku: 'slow' }, { authorization: 'Bearer alice', 'request-timeout-ms': '100' });
    expect(slow.status).toBe(504);
    expect(await slow.json()).toMatchObject({ code: 'DEADLINE_EXCEEDED', traceId: slow.headers.get('trace-id') });
  });
});

describe('the wiring snippets', () => {
  it('context.ts runs outside any server', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [`${here}context.ts`], { timeout: 10_000 });
    expect(stdout).toContain("user: 'alice'");
    expect(stdout).toContain("tenant: 'acme'");
  });

  it('fastify.ts: the user from the auth hook, never from a header', async () => {
    const url = await start('fastify.ts');
    const res = await fetch(`${url}/whoami`, { headers: { authorization: 'Bearer alice', 'user-id': 'admin', traceparent } });
    expect(await res.json()).toMatchObject({ traceId: TRACE, userId: 'alice' });
    const anonymous = await fetch(`${url}/whoami`, { headers: { 'user-id': 'admin' } });
    expect(((await anonymous.json()) as { userId?: string }).userId).toBeUndefined();
  });

  it('express.ts: an internal service takes its peer ids, and its fetch carries them on', async () => {
    const url = await start('express.ts');
    const res = await post(`${url}/orders`, { sku: 'book' }, { 'user-id': 'u-7', traceparent });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { left: number };
    expect(body).toMatchObject({ invoice: { sku: 'book' }, traceId: TRACE, userId: 'u-7' });
    expect(body.left).toBeLessThanOrEqual(2_000);
  });
});
