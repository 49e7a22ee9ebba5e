import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

// `@opentelemetry/api` is an optional peer dependency of @ctxkit/core: only `@ctxkit/core/otel`
// may load it. Checked in fresh processes, since this test runner itself may have loaded it.

const PROBE = fileURLToPath(new URL('./fixtures/probe-loading.ts', import.meta.url));

interface Probe {
  before: { resolved: string[]; requireCache: string[] };
  after: { resolved: string[]; requireCache: string[] };
  traceId: string;
  extracted: string;
  adapters: string[];
  otelEntry: string;
}

async function probe(mode: 'import' | 'require', api: 'installed' | 'absent'): Promise<Probe> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--disable-warning=ExperimentalWarning', PROBE, mode, api], {
    timeout: 15_000,
    env: { PATH: process.env.PATH },
  });
  return JSON.parse(stdout) as Probe;
}

describe.each(['import', 'require'] as const)('loaded by %s', (mode) => {
  it('@ctxkit/core, /adapter, @ctxkit/fastify and @ctxkit/grpc do not load @opentelemetry/api; /otel does', async () => {
    const result = await probe(mode, 'installed');
    expect(result.before).toEqual({ resolved: [], requireCache: [] });
    expect(result.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(result.adapters).toEqual(['function', 'function', 'function']);
    // The probe does see the API load when the bridge is imported.
    expect(result.otelEntry).toBe('loaded');
    expect(result.after.resolved.some((url) => url.includes('/@opentelemetry/api/'))).toBe(true);
  });

  it('without @opentelemetry/api installed, everything but /otel loads and works', async () => {
    const result = await probe(mode, 'absent');
    expect(result.before).toEqual({ resolved: [], requireCache: [] });
    expect(result.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(result.extracted).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(result.adapters).toEqual(['function', 'function', 'function']);
    expect(result.otelEntry).toBe(mode === 'require' ? 'MODULE_NOT_FOUND' : 'ERR_MODULE_NOT_FOUND');
  });
});
