import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadApi } from './index.ts';

const root = fileURLToPath(new URL('..', import.meta.url));

function files(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.set(relative(dir, p), readFileSync(p, 'utf8').replaceAll(dir, '<out>'));
    }
  };
  walk(dir);
  return out;
}

describe('generated code', () => {
  it('is what `npm run gen` makes from proto/ now (run it after editing a .proto)', () => {
    const tmp = mkdtempSync(join(tmpdir(), 'ctxkit-gen-'));
    try {
      execFileSync(process.execPath, [join(root, 'scripts/gen.ts'), tmp], { stdio: 'inherit' });
      const fresh = files(tmp);
      const committed = files(join(root, 'gen'));
      expect([...committed.keys()].sort()).toEqual([...fresh.keys()].sort());
      for (const [name, text] of fresh) expect(committed.get(name), `gen/${name} is stale`).toBe(text);
      // Paths in generated comments must not depend on where the repository is checked out.
      for (const [name, text] of committed) expect(text, `gen/${name} names a local path`).not.toContain(root);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('loads both services with their methods', () => {
    const api = loadApi();
    expect(Object.keys(api.orders.Orders.service)).toEqual(['CreateOrder', 'GetOrder']);
    expect(Object.keys(api.inventory.Inventory.service)).toEqual(['Reserve', 'WatchStock']);
  });
});
