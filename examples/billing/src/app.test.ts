import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from './app.ts';

let server: Server;
let url: string;

beforeAll(async () => {
  server = buildApp().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const address = server.address();
  url = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
});
afterAll(() => new Promise((resolve) => server.close(resolve)));

const post = (body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${url}/invoices`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

describe('billing', () => {
  it('issues an invoice inside the context its peer sent: user and budget', async () => {
    const res = await post({ orderId: 'ord-1', amountCents: 1200 }, { 'user-id': 'alice', 'request-timeout-ms': '2000', 'trace-id': 'a'.repeat(32) });
    expect(res.status).toBe(201);
    const body = (await res.json()) as { invoiceId: string; hop: { userId: string; traceId: string; budgetAtArrivalMs: number; status: string } };
    expect(body.invoiceId).toMatch(/^inv-\d+$/);
    expect(body.hop).toMatchObject({ userId: 'alice', traceId: 'a'.repeat(32), status: 'OK' });
    expect(body.hop.budgetAtArrivalMs).toBeGreaterThan(0);
    expect(body.hop.budgetAtArrivalMs).toBeLessThanOrEqual(2000);
  });

  it('refuses a malformed charge with 400', async () => {
    const res = await post({ orderId: 'ord-1', amountCents: -5 });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('answers 504 DEADLINE_EXCEEDED when the budget runs out while it works', async () => {
    const res = await post({ orderId: 'ord-2', amountCents: 100, workMs: 5000 }, { 'request-timeout-ms': '100' });
    expect(res.status).toBe(504);
    expect(await res.json()).toMatchObject({ code: 'DEADLINE_EXCEEDED' });
  });
});
