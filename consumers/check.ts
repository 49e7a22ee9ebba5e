// Checks the packages as a consumer gets them, from their packed tarballs:
//   1. publint (strict) and @arethetypeswrong/cli (every resolution mode) on each tarball;
//   2. one fresh project outside the monorepo (a temp dir) installs the tarballs, and
//      consumer.ts (every package's API) and consumer-nest.ts type-check there with TypeScript
//      5.9 and 7 under node10 (5.9 only: 7 removed it), node16, nodenext and bundler, in ESM and
//      CJS packages. One install serves every variant: each is a subfolder with its own
//      tsconfig.json and package.json "type".
// Prints `consumers: N passed, M failed` and exits non-zero on any failure. Run after a build
// (`npm run test:packages` does both).
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const bin = (name: string) => join(root, 'node_modules', '.bin', name);
// The packages consumer.ts uses are packed and installed; any other published package
// (packages/* not private) gets publint and attw too.
const packages = ['core', 'express-middleware', 'fastify-plugin', 'grpc-interceptors', 'nats', 'bullmq', 'worker-threads', 'nestjs'];
const others: string[] = [];
for (const dir of (await readdir(join(root, 'packages'))).sort()) {
  if (packages.includes(dir)) continue;
  const manifest = JSON.parse(await readFile(join(root, 'packages', dir, 'package.json'), 'utf8').catch(() => '{"private":true}')) as { private?: boolean };
  if (manifest.private !== true) others.push(dir);
}
const compilers: Record<string, string> = {
  'typescript 5.9': join(here, 'node_modules', 'typescript', 'bin', 'tsc'),
  'typescript 7': join(root, 'node_modules', 'typescript', 'bin', 'tsc'),
};
// The peers and types a consumer installs beside ctxkit, at the versions the monorepo tests.
const peers = [
  'fastify', 'express', '@types/express', '@grpc/grpc-js', '@opentelemetry/api', '@types/node',
  'nats', 'bullmq', '@nestjs/common', '@nestjs/core', '@nestjs/microservices', 'rxjs', 'reflect-metadata',
];

interface Variant {
  name: string;
  type: 'module' | 'commonjs';
  compilerOptions: Record<string, unknown>;
  only?: string;
  /** Nest 12 is ESM only: node16 CommonJS loads it with import() (consumer-nest-import.ts). */
  nestByImport?: boolean;
}
const variants: Variant[] = [
  { name: 'node10-cjs', type: 'commonjs', compilerOptions: { module: 'commonjs', moduleResolution: 'node10', esModuleInterop: true }, only: 'typescript 5.9' },
  { name: 'node16-cjs', type: 'commonjs', compilerOptions: { module: 'node16', moduleResolution: 'node16' }, nestByImport: true },
  { name: 'node16-esm', type: 'module', compilerOptions: { module: 'node16', moduleResolution: 'node16' } },
  { name: 'nodenext-cjs', type: 'commonjs', compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext' } },
  { name: 'nodenext-esm', type: 'module', compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext' } },
  { name: 'bundler-esm', type: 'module', compilerOptions: { module: 'esnext', moduleResolution: 'bundler' } },
  { name: 'bundler-cjs', type: 'commonjs', compilerOptions: { module: 'preserve', moduleResolution: 'bundler' } },
];

let passed = 0;
let failed = 0;
function report(ok: boolean, what: string, output = ''): void {
  if (ok) passed++;
  else failed++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok && output !== '') console.log(output.trim().replace(/^/gm, '     '));
}
interface Outcome {
  ok: boolean;
  what: string;
  output: string;
}
async function attempt(what: string, file: string, args: string[], cwd: string): Promise<Outcome> {
  const began = Date.now();
  try {
    await run(file, args, { cwd, maxBuffer: 16 * 1024 * 1024 });
    return { ok: true, what: `${what} (${((Date.now() - began) / 1000).toFixed(1)} s)`, output: '' };
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    return { ok: false, what, output: `${e.stdout ?? ''}${e.stderr ?? ''}` || e.message };
  }
}
/**
 * Runs the checks two at a time (each is one process, mostly one core; CI has two) and reports
 * them in the order given.
 */
async function attemptAll(checks: readonly (() => Promise<Outcome>)[], parallel = 2): Promise<void> {
  const outcomes: Promise<Outcome>[] = [];
  const running = new Set<Promise<Outcome>>();
  for (const check of checks) {
    if (running.size >= parallel) await Promise.race(running);
    const p = check();
    outcomes.push(p);
    running.add(p);
    void p.finally(() => running.delete(p));
  }
  for (const outcome of outcomes) {
    const { ok, what, output } = await outcome;
    report(ok, what, output);
  }
}

const started = Date.now();
const work = await mkdtemp(join(tmpdir(), 'ctxkit-consumers-'));
try {
  const packs = join(work, 'packs');
  await mkdir(packs);
  const tarballs: string[] = [];
  for (const dir of packages) {
    const { stdout } = await run('npm', ['pack', '--silent', '--pack-destination', packs], { cwd: join(root, 'packages', dir) });
    tarballs.push(join(packs, stdout.trim().split('\n').pop()!));
  }
  await attemptAll([
    ...tarballs.flatMap((tarball, i) => {
      const dir = join(root, 'packages', packages[i]!);
      return [
        () => attempt(`publint --strict ${packages[i]}`, bin('publint'), ['--strict', '--pack', 'npm'], dir),
        () => attempt(`attw (node10, node16 CJS and ESM, bundler) ${packages[i]}`, bin('attw'), [tarball, '--format', 'ascii'], work),
      ];
    }),
    ...others.flatMap((other) => {
      const dir = join(root, 'packages', other);
      return [
        () => attempt(`publint --strict ${other}`, bin('publint'), ['--strict', '--pack', 'npm'], dir),
        () => attempt(`attw (node10, node16 CJS and ESM, bundler) ${other}`, bin('attw'), ['--pack', dir, '--format', 'ascii'], work),
      ];
    }),
  ]);

  // The fresh project: tarballs plus the peers, from npm's cache where it has them.
  const project = join(work, 'project');
  await mkdir(project);
  const dependencies: Record<string, string> = {};
  for (const tarball of tarballs) {
    const manifest = JSON.parse((await run('tar', ['-xzOf', tarball, 'package/package.json'])).stdout) as { name: string };
    dependencies[manifest.name] = `file:${tarball}`;
  }
  for (const peer of peers) {
    const manifest = JSON.parse(await readFile(join(root, 'node_modules', peer, 'package.json'), 'utf8')) as { version: string };
    dependencies[peer] = manifest.version;
  }
  await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, dependencies }, null, 2));
  await attemptAll([
    () => attempt('npm install of the tarballs in a fresh project', 'npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', '--no-package-lock'], project),
  ]);

  const sources = Object.fromEntries(
    await Promise.all(['consumer.ts', 'consumer-nest.ts', 'consumer-nest-import.ts'].map(async (f) => [f, await readFile(join(here, f), 'utf8')] as const)),
  );
  for (const variant of variants) {
    const dir = join(project, variant.name);
    await mkdir(dir);
    await writeFile(join(dir, 'package.json'), JSON.stringify({ type: variant.type }));
    const files = ['consumer.ts', variant.nestByImport === true ? 'consumer-nest-import.ts' : 'consumer-nest.ts'];
    for (const f of files) await writeFile(join(dir, f), sources[f]!);
    const tsconfig = {
      compilerOptions: { target: 'es2022', lib: ['es2023', 'dom'], strict: true, noEmit: true, skipLibCheck: false, types: ['node'], ...variant.compilerOptions },
      files,
    };
    await writeFile(join(dir, 'tsconfig.json'), JSON.stringify(tsconfig, null, 2));
  }
  await attemptAll(
    Object.entries(compilers).flatMap(([compiler, tsc]) =>
      variants
        .filter((variant) => variant.only === undefined || variant.only === compiler)
        .map((variant) => () => attempt(`${compiler} ${variant.name}`, process.execPath, [tsc, '-p', join(project, variant.name, 'tsconfig.json')], project)),
    ),
  );
} finally {
  await rm(work, { recursive: true, force: true });
}
console.log(`consumers: ${passed} passed, ${failed} failed (${((Date.now() - started) / 1000).toFixed(0)} s)`);
process.exitCode = failed === 0 ? 0 : 1;
