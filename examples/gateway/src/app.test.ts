import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from './app.ts';
import { pool } from './orders-client.ts';

let app: Awaited<ReturnType<typeof buildApp>>;
let url: string;

beforeAll(async () => {
  app = await buildApp();
  url = await app.listen({ host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await app.close();
  pool.close();
});

const postOrder = (body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${url}/orders`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

describe('gateway edge, before any call to orders', () => {
  it('refuses a request without a bearer token with 401, whatever user-id header it sends', async () => {
    const res = await postOrder({ sku: 'book', quantity: 1 }, { 'user-id': 'admin' });
    expect(res.status).toBe(401);
    const body = (await res.json()) as { code: string; traceId: string };
    expect(body.code).toBe('UNAUTHENTICATED');
    expect(body.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(res.headers.get('trace-id')).toBe(body.traceId);
  });

  it('refuses a malformed order with 400', async () => {
    const res = await postOrder({ sku: 'book', quantity: 0 }, { authorization: 'Bearer token-alice' });
    expect(res.status).toBe(400);
  });
});
