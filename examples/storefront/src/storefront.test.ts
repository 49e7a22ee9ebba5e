import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { HopReport__Output } from '@ctxkit-examples/api';
import type { LoggerService } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStorefront } from './app.ts';

// The real inventory service, started as `npm start` starts it; it reports each hop it serves
// over IPC (CTXKIT_DEMO_IPC), which is how these tests see what the far end of a call saw.
const INVENTORY_DIR = fileURLToPath(new URL('../../inventory/', import.meta.url));

let inventory: ChildProcess;
const hops: { type: 'hop' | 'hop-start'; hop: HopReport__Output }[] = [];
const lines: { level: string; text: string }[] = [];
let app: NestFastifyApplication;
let base: string;

/** Keeps what Nest and ctxkit log, by level. */
const logger: LoggerService = Object.fromEntries(
  (['log', 'error', 'warn', 'debug', 'verbose', 'fatal'] as const).map((level) => [
    level,
    (...parts: unknown[]) => lines.push({ level, text: parts.map((p) => (p instanceof Error ? p.stack : String(p))).join(' ') }),
  ]),
) as unknown as LoggerService;

beforeAll(async () => {
  inventory = spawn(process.execPath, ['--import', './src/otel.ts', 'src/main.ts'], {
    cwd: INVENTORY_DIR,
    env: { ...process.env, INVENTORY_BIND: '127.0.0.1:0', CTXKIT_DEMO_IPC: '1' },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const ready = new Promise<number>((resolve, reject) => {
    inventory.on('message', (m: { type: string; port?: number; hop?: HopReport__Output }) => {
      if (m.type === 'ready') resolve(m.port!);
      else if (m.type === 'hop' || m.type === 'hop-start') hops.push({ type: m.type, hop: m.hop! });
    });
    inventory.once('exit', (code) => reject(new Error(`inventory exited (${code}) before it was ready`)));
  });
  const port = await ready;
  app = await createStorefront({ inventoryAddr: `127.0.0.1:${port}`, logger });
  await app.listen(0, '127.0.0.1');
  base = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
});

afterAll(async () => {
  await app?.close();
  if (inventory !== undefined && inventory.exitCode === null) {
    inventory.kill('SIGTERM');
    await once(inventory, 'exit');
  }
});

/** Resolves with the first hop report `match` accepts (already received, or when it arrives). */
async function hop(match: (h: (typeof hops)[number]) => boolean): Promise<HopReport__Output> {
  for (;;) {
    const found = hops.find(match);
    if (found !== undefined) return found.hop;
    await once(inventory, 'message');
  }
}

const traceId = () => Array.from({ length: 32 }, () => Math.floor(Math.random() * 16).toString(16)).join('');
const traceparent = (id: string) => `00-${id}-00f067aa0ba902b7-01`;

function reserve(body: object, headers: Record<string, string> = {}) {
  return fetch(`${base}/reservations`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
}

describe('the storefront: NestJS (Fastify adapter) with @ctxkit/nestjs, in front of the inventory gRPC service', () => {
  it("reads stock through ClientGrpc's server stream in the request's trace", async () => {
    const id = traceId();
    const answer = await fetch(`${base}/stock?skus=book,kettle,mug`, { headers: { traceparent: traceparent(id) } });
    expect(answer.status).toBe(200);
    expect(answer.headers.get('trace-id')).toBe(id);
    expect(await answer.json()).toEqual([
      { sku: 'book', available: expect.any(Number) },
      { sku: 'mug', available: expect.any(Number) },
    ]);
  });

  it('a reservation reaches inventory with the trace id and what is left of the budget', async () => {
    const id = traceId();
    const answer = await reserve({ sku: 'book', quantity: 1 }, { traceparent: traceparent(id), 'request-timeout-ms': '2000' });
    expect(answer.status).toBe(201);
    const body = (await answer.json()) as { inventory: { budgetAtArrivalMs: number } };
    expect(body).toMatchObject({ reservationId: expect.stringMatching(/^res-\d+$/), traceId: id, inventory: { service: 'inventory', traceId: id, status: 'OK' } });
    expect(Number(body.inventory.budgetAtArrivalMs)).toBeGreaterThan(0);
    expect(Number(body.inventory.budgetAtArrivalMs)).toBeLessThanOrEqual(2000);
  });

  it("inventory's status errors are answered as the Fastify gateway answers them, Nest's own 400 kept", async () => {
    const id = traceId();
    const missing = await reserve({ sku: 'kettle', quantity: 1 }, { traceparent: traceparent(id) });
    expect([missing.status, await missing.json()]).toEqual([404, { code: 'NOT_FOUND', message: 'no such item: kettle', traceId: id }]);
    const short = await reserve({ sku: 'mug', quantity: 50 });
    expect([short.status, ((await short.json()) as { code: string }).code]).toEqual([400, 'FAILED_PRECONDITION']);
    const bad = await reserve({ sku: 'book', quantity: 0 });
    expect([bad.status, await bad.json()]).toEqual([400, { statusCode: 400, message: 'quantity: an integer from 1 to 100', error: 'Bad Request' }]);
  });

  it("the request's deadline is a 504 and stops inventory's work, logged as no error", async () => {
    const id = traceId();
    const answer = await reserve({ sku: 'book', quantity: 1, workMs: 5_000 }, { traceparent: traceparent(id), 'request-timeout-ms': '150' });
    expect([answer.status, await answer.json()]).toEqual([504, { code: 'DEADLINE_EXCEEDED', message: 'deadline exceeded', traceId: id }]);
    const far = await hop((h) => h.type === 'hop' && h.hop.traceId === id);
    expect([far.status, far.abortReason]).toEqual(['DEADLINE_EXCEEDED', 'DEADLINE_EXCEEDED']);
    expect(lines.filter((l) => l.level === 'error')).toEqual([]);
  });

  it('a client that hangs up cancels the gRPC call, and inventory stops', async () => {
    const id = traceId();
    const req = request(`${base}/reservations`, { method: 'POST', headers: { 'content-type': 'application/json', traceparent: traceparent(id) }, agent: false });
    req.on('error', () => {});
    req.end(JSON.stringify({ sku: 'book', quantity: 1, workMs: 5_000 }));
    await hop((h) => h.type === 'hop-start' && h.hop.traceId === id);
    req.destroy();
    const far = await hop((h) => h.type === 'hop' && h.hop.traceId === id);
    expect([far.status, far.abortReason]).toEqual(['CANCELLED', 'CANCELLED']);
    expect(lines.filter((l) => l.level === 'error')).toEqual([]);
  });
});
