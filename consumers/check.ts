// Checks the packages as a consumer gets them, from their packed tarballs:
//   1. publint (strict) and @arethetypeswrong/cli (every resolution mode) on each tarball;
//   2. one fresh project outside the monorepo (a temp dir) installs the tarballs, and
//      consumer.ts type-checks there with TypeScript 5.9 and 7 under node10 (5.9 only: 7 removed
//      it), node16, nodenext and bundler, in ESM and CJS packages. One install serves every
//      variant: each is a subfolder with its own tsconfig.json and package.json "type".
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
// The four packages consumer.ts uses are packed and installed; every other published package
// (packages/* not private) gets publint and attw too.
const packages = ['core', 'express-middleware', 'fastify-plugin', 'grpc-interceptors'];
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
const peers = ['fastify', 'express', '@types/express', '@grpc/grpc-js', '@opentelemetry/api', '@types/node'];

interface Variant {
  name: string;
  type: 'module' | 'commonjs';
  compilerOptions: Record<string, unknown>;
  only?: string;
}
const variants: Variant[] = [
  { name: 'node10-cjs', type: 'commonjs', compilerOptions: { module: 'commonjs', moduleResolution: 'node10', esModuleInterop: true }, only: 'typescript 5.9' },
  { name: 'node16-cjs', type: 'commonjs', compilerOptions: { module: 'node16', moduleResolution: 'node16' } },
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
async function attempt(what: string, file: string, args: string[], cwd: string): Promise<void> {
  try {
    await run(file, args, { cwd, maxBuffer: 16 * 1024 * 1024 });
    report(true, what);
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    report(false, what, `${e.stdout ?? ''}${e.stderr ?? ''}` || e.message);
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
  for (const [i, tarball] of tarballs.entries()) {
    const dir = join(root, 'packages', packages[i]!);
    await attempt(`publint --strict ${packages[i]}`, bin('publint'), ['--strict', '--pack', 'npm'], dir);
    await attempt(`attw (node10, node16 CJS and ESM, bundler) ${packages[i]}`, bin('attw'), [tarball, '--format', 'ascii'], work);
  }
  for (const other of others) {
    const dir = join(root, 'packages', other);
    await attempt(`publint --strict ${other}`, bin('publint'), ['--strict', '--pack', 'npm'], dir);
    await attempt(`attw (node10, node16 CJS and ESM, bundler) ${other}`, bin('attw'), ['--pack', dir, '--format', 'ascii'], work);
  }

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
  const installed = Date.now();
  await attempt('npm install of the tarballs in a fresh project', 'npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', '--no-package-lock'], project);
  console.log(`     (install ${((Date.now() - installed) / 1000).toFixed(1)} s)`);

  const source = await readFile(join(here, 'consumer.ts'), 'utf8');
  for (const variant of variants) {
    const dir = join(project, variant.name);
    await mkdir(dir);
    await writeFile(join(dir, 'package.json'), JSON.stringify({ type: variant.type }));
    await writeFile(join(dir, 'consumer.ts'), source);
    const tsconfig = {
      compilerOptions: { target: 'es2022', lib: ['es2023', 'dom'], strict: true, noEmit: true, skipLibCheck: false, types: ['node'], ...variant.compilerOptions },
      files: ['consumer.ts'],
    };
    await writeFile(join(dir, 'tsconfig.json'), JSON.stringify(tsconfig, null, 2));
  }
  for (const [compiler, tsc] of Object.entries(compilers)) {
    for (const variant of variants) {
      if (variant.only !== undefined && variant.only !== compiler) continue;
      await attempt(`${compiler} ${variant.name}`, process.execPath, [tsc, '-p', join(project, variant.name, 'tsconfig.json')], project);
    }
  }
} finally {
  await rm(work, { recursive: true, force: true });
}
console.log(`consumers: ${passed} passed, ${failed} failed (${((Date.now() - started) / 1000).toFixed(0)} s)`);
process.exitCode = failed === 0 ? 0 : 1;
