// Vitest global set-up of the end-to-end test. The services it starts import the built ctxkit
// packages, but this workspace does not declare them (only the service workspaces do), so turbo
// may run this test while their builds are still going: wait for them, bounded.
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const PACKAGES = ['core', 'grpc-interceptors', 'fastify-plugin', 'express-middleware'];
const WAIT_MS = 180_000;

export default async function waitForBuilds(): Promise<void> {
  const dists = PACKAGES.map((p) => fileURLToPath(new URL(`../../../packages/${p}/dist/index.mjs`, import.meta.url)));
  const until = Date.now() + WAIT_MS;
  for (;;) {
    const missing = dists.filter((d) => !existsSync(d));
    if (missing.length === 0) return;
    if (Date.now() > until) throw new Error(`built packages missing (run \`npm run build\`): ${missing.join(', ')}`);
    await sleep(250);
  }
}
