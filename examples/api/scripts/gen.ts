// Generates gen/ from proto/ with proto-loader-gen-types (from npm; no system protoc).
// `node scripts/gen.ts [outDir]`: the stale-code test generates into a temporary folder and diffs.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const outDir = process.argv[2] ?? join(root, 'gen');
const require = createRequire(import.meta.url);
const bin = join(dirname(require.resolve('@grpc/proto-loader/package.json')), 'build/bin/proto-loader-gen-types.js');
const protos = readdirSync(join(root, 'proto')).filter((f) => f.endsWith('.proto')).sort();

rmSync(outDir, { recursive: true, force: true });
mkdirSync(outDir, { recursive: true });
execFileSync(
  process.execPath,
  [bin, '-I', 'proto', '--grpcLib=@grpc/grpc-js', `--outDir=${outDir}`, '--longs=Number', '--enums=String',
    '--defaults', '--oneofs', '--includeComments', ...protos],
  { stdio: ['ignore', 'ignore', 'inherit'], cwd: root },
);
// The generated files use extensionless type-only imports: a CommonJS scope lets tsc resolve them.
writeFileSync(join(outDir, 'package.json'), '{ "type": "commonjs" }\n');
