import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { reportMissingContext } from './adapter.js';
import { NoContextError } from './index.js';

describe('reportMissingContext', () => {
  it('throws, warns once per call site naming it, or stays silent', async () => {
    expect(() => reportMissingContext('throw', 'a gRPC call')).toThrow(NoContextError);
    expect(() => reportMissingContext('throw', 'a gRPC call')).toThrow(/a gRPC call outside any request context at .*lost-context\.test\.ts/);
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      for (let i = 0; i < 3; i++) reportMissingContext('warn', 'a fetch'); // one site
      reportMissingContext('warn', 'a fetch'); // another site
      reportMissingContext('ignore', 'a fetch');
      await new Promise((r) => setImmediate(r));
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings).toHaveLength(2);
    expect((warnings[0] as Error & { code: string }).code).toBe('CTXKIT_NO_CONTEXT');
    expect(warnings[0]!.message).toMatch(/lost-context\.test\.ts:\d+/);
  });

  it('finds the user frame under more library frames than Node keeps by default', async () => {
    // A library in a node_modules folder that reaches ctxkit 30 frames below its caller, as
    // rxjs and a framework's client do for a call made on subscription.
    const dir = await mkdtemp(join(tmpdir(), 'ctxkit-deep-'));
    try {
      const lib = join(dir, 'node_modules', 'deep-lib');
      await mkdir(lib, { recursive: true });
      await writeFile(
        join(lib, 'index.mjs'),
        // A built-in frame (`Array.map (<anonymous>)`) between, as `new Promise` is under rxjs.
        'export function deep(n, fn, ...args) { return n === 0 ? [0].map(() => fn(...args))[0] : deep(n - 1, fn, ...args) + 0; }\n',
      );
      const { deep } = (await import(pathToFileURL(join(lib, 'index.mjs')).href)) as {
        deep: (n: number, fn: typeof reportMissingContext, ...args: Parameters<typeof reportMissingContext>) => void;
      };
      const before = Error.stackTraceLimit;
      expect(() => deep(30, reportMissingContext, 'throw', 'a deep call')).toThrow(/a deep call outside any request context at .*lost-context\.test\.ts:\d+/);
      expect(Error.stackTraceLimit).toBe(before); // restored
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
