import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { reportLostContext } from './adapter.js';
import { createFetch } from './fetch-entry.js';
import { bindContext, createContext, currentContext, detach, NoContextError, runWithContext } from './index.js';
import { contextEnded, reportEndedContext, reportMissingContext } from './lost-context.js';

// An adapter as users meet it: a fetch made outside any context.
const noFetch = () => Promise.resolve(new Response(null));
const throwing = createFetch({ missingContext: 'throw', fetch: noFetch });
const warning = createFetch({ missingContext: 'warn', fetch: noFetch });

describe('reportMissingContext', () => {
  it('throws, warns once per call site naming it, or stays silent', async () => {
    await expect(throwing('http://127.0.0.1:9/')).rejects.toThrow(NoContextError);
    await expect(throwing('http://127.0.0.1:9/')).rejects.toThrow(/fetch outside any request context at .*lost-context\.test\.ts:\d+/);
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      for (let i = 0; i < 3; i++) await warning('http://127.0.0.1:9/'); // one site
      await warning('http://127.0.0.1:9/'); // another site
      await createFetch({ missingContext: 'ignore', fetch: noFetch })('http://127.0.0.1:9/');
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

  it("names user code in a monorepo whose folders look like ctxkit's own (packages/core/src)", async () => {
    const dir = join(tmpdir(), `ctxkit-monorepo-${process.pid}`, 'packages', 'core', 'src');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'orders.mjs');
    writeFileSync(file, 'export function placeOrder(fetch) {\n  return fetch("http://127.0.0.1:9/");\n}\n');
    const { placeOrder } = (await import(pathToFileURL(file).href)) as { placeOrder: (f: typeof throwing) => Promise<Response> };
    const error = await placeOrder(throwing).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NoContextError);
    expect((error as Error).message).toMatch(/ at placeOrder \(\S*[\\/]packages[\\/]core[\\/]src[\\/]orders\.mjs:\d+:\d+\)/);
  });
});

describe('reportEndedContext', () => {
  it('a call from a pooled callback holding an ended request\'s context is reported once per call site, with where and which request', async () => {
    const requestA = createContext();
    // A pool created inside request A binds its callbacks to A's context.
    const pool = runWithContext(requestA, () => ({ release: bindContext(() => currentContext()) }));
    requestA.end(); // A was answered
    // An adapter as users meet it, in a file of its own: the report names the adapter's caller.
    const dir = join(tmpdir(), `ctxkit-ended-${process.pid}`);
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'publish.mjs');
    writeFileSync(file, 'export function publish(report, ctx) {\n  return report("warn", "a NATS publish", ctx);\n}\n');
    const { publish } = (await import(pathToFileURL(file).href)) as {
      publish: (report: typeof reportEndedContext, ctx: ReturnType<typeof currentContext>) => void;
    };
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      for (let i = 0; i < 3; i++) {
        const held = pool.release(); // request B's code releases a connection
        expect(contextEnded(held)).toBe(true);
        publish(reportEndedContext, held); // one call site
      }
      await new Promise((r) => setImmediate(r));
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings).toHaveLength(1);
    expect((warnings[0] as Error & { code: string }).code).toBe('CTXKIT_ENDED_CONTEXT');
    expect(warnings[0]!.message).toContain(`under the context of request ${requestA.requestId}`);
    expect(warnings[0]!.message).toMatch(/lost-context\.test\.ts:\d+/);
    expect(() => reportEndedContext('throw', 'an enqueue', requestA)).toThrow(NoContextError);
  });

  it('live and detached contexts are not ended', () => {
    const request = createContext();
    expect(contextEnded(request)).toBe(false);
    const detached = runWithContext(request, () => detach(() => currentContext()));
    request.end();
    expect(contextEnded(detached)).toBe(false);
  });
});

describe('reportLostContext', () => {
  it('reports no context and an ended context, and says nothing of a live one', () => {
    const live = createContext();
    expect(() => reportLostContext('throw', 'a send', live)).not.toThrow();
    expect(() => reportLostContext('throw', 'a send', undefined)).toThrow(/a send outside any request context/);
    live.end();
    expect(() => reportLostContext('throw', 'a send', live)).toThrow(new RegExp(`a send at .* under the context of request ${live.requestId}`));
    expect(() => reportLostContext('ignore', 'a send', live)).not.toThrow();
  });
});
