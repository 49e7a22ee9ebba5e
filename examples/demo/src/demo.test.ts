// End to end: the four demo scenarios against the real services (four processes, real sockets),
// with assertions on what each hop reported it saw.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { budgetTooSmall, clientDisconnects, HOSTILE_HEADERS, hostileHeaders, normalOrder } from './scenarios.ts';
import { Services } from './services.ts';

const services = new Services();

beforeAll(() => services.start(), 60_000);
afterAll(() => services.stop(), 30_000);

describe('the demo chain: gateway → orders → inventory, billing; orders.created → fulfilment → receipt job', () => {
  it('a normal order: one trace id and the user at every hop, the budget shrinking hop by hop', async () => {
    const outcome = await normalOrder(services);
    expect(outcome.answer.status).toBe(201);
    expect([...outcome.hops.keys()].sort()).toEqual(['billing', 'fulfilment', 'gateway', 'inventory', 'orders', 'receipt-job']);
    for (const hop of outcome.hops.values()) {
      expect(hop).toMatchObject({ traceId: outcome.traceId, userId: 'alice', status: 'OK', abortedAtMs: 0 });
      expect(hop.metadata['user-id']).toBe('alice');
    }
    const budget = (s: string) => outcome.hops.get(s)!.budgetAtArrivalMs;
    expect(budget('gateway')).toBeLessThanOrEqual(3000); // the gateway's default budget
    expect(budget('orders')).toBeLessThanOrEqual(budget('gateway'));
    expect(budget('inventory')).toBeLessThanOrEqual(budget('orders'));
    expect(budget('billing')).toBeLessThanOrEqual(budget('orders'));
    // Billing is called once inventory's 40 ms of work are done: it must arrive with less.
    expect(budget('billing')).toBeLessThan(budget('inventory'));
    // The asynchronous leg: the event's consumer and the job it enqueued ran detached, with the order's ids.
    for (const service of ['fulfilment', 'receipt-job']) {
      expect(outcome.hops.get(service)).toMatchObject({ budgetAtArrivalMs: -1, requestId: outcome.hops.get('gateway')!.requestId });
    }
    expect(outcome.checks.filter((c) => !c.ok)).toEqual([]);
  });

  it('a budget too small: 504 at the gateway, DEADLINE_EXCEEDED below, the deepest hop aborted', async () => {
    const outcome = await budgetTooSmall(services);
    expect(outcome.answer).toMatchObject({ status: 504, body: { code: 'DEADLINE_EXCEEDED', traceId: outcome.traceId } });
    const gateway = outcome.hops.get('gateway')!;
    expect(gateway.budgetAtArrivalMs).toBeLessThanOrEqual(800);
    // Its context's timer and its gRPC call's deadline fire at one instant: either ends it.
    expect(gateway.status).toBe('DEADLINE_EXCEEDED');
    // The deadline passes at every hop at one instant; a hop below sees it by its own timer, by
    // its call's deadline, or as its caller's cancel arriving first (see the report on
    // abortCallContext): DEADLINE_EXCEEDED or CANCELLED, never OK.
    const orders = outcome.hops.get('orders')!;
    expect(orders.traceId).toBe(outcome.traceId);
    expect(orders.budgetAtArrivalMs).toBeLessThanOrEqual(gateway.budgetAtArrivalMs);
    expect(['DEADLINE_EXCEEDED', 'CANCELLED']).toContain(orders.status);
    const inventory = outcome.hops.get('inventory')!;
    expect(inventory.traceId).toBe(outcome.traceId);
    expect(inventory.budgetAtArrivalMs).toBeLessThanOrEqual(orders.budgetAtArrivalMs);
    expect(inventory.abortedAtMs).toBeGreaterThan(0);
    expect(['DEADLINE_EXCEEDED', 'CANCELLED']).toContain(inventory.abortReason);
    expect(inventory.status).toBe(inventory.abortReason);
    expect(outcome.hops.has('billing')).toBe(false);
  });

  it('a client that disconnects cancels every hop still working', async () => {
    const outcome = await clientDisconnects(services);
    const at = outcome.disconnectedAtMs!;
    for (const s of ['gateway', 'orders', 'billing']) {
      const hop = outcome.hops.get(s)!;
      expect(hop.abortReason, s).toBe('CANCELLED');
      expect(hop.abortedAtMs, s).toBeGreaterThanOrEqual(at);
    }
    expect(outcome.hops.get('orders')!.status).toBe('CANCELLED');
    expect(outcome.hops.get('billing')!.status).toBe('CANCELLED');
    expect(outcome.hops.get('inventory')).toMatchObject({ status: 'OK', abortedAtMs: 0 });
  });

  it('a spoofed user-id and hostile headers are ignored; the authenticated user flows', async () => {
    const outcome = await hostileHeaders(services);
    expect(outcome.answer.status).toBe(201);
    expect(outcome.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(outcome.hops.size).toBe(6); // the four calls, the event's consumer and the job
    const hostile = new Set<string>(Object.values(HOSTILE_HEADERS));
    for (const hop of outcome.hops.values()) {
      expect(hop).toMatchObject({ traceId: outcome.traceId, userId: 'alice', status: 'OK' });
      for (const [key, value] of Object.entries(hop.metadata)) {
        expect(['trace-id', 'request-id', 'user-id', 'traceparent', 'tracestate']).toContain(key);
        expect(hostile.has(value), `${hop.service} ${key}=${value}`).toBe(false);
      }
    }
    const gateway = outcome.hops.get('gateway')!;
    expect(gateway.budgetAtArrivalMs).toBeLessThanOrEqual(5000);
    expect(gateway.dropped.map((d) => d.split(':')[0]).sort()).toEqual(['trace-id', 'traceparent', 'x-request-id']);
  });
});
