// The four scenarios of the demo, shared by `npm run demo` and the end-to-end test. Each sends
// real requests to the gateway and returns what every hop reported it saw.
import { randomBytes } from 'node:crypto';
import { type Answer, send } from './client.ts';
import type { Hop } from './hop.ts';
import type { Services } from './services.ts';

/** One verdict on what the hops saw. */
export interface Check {
  readonly what: string;
  readonly ok: boolean;
}

/** What a scenario did and what each hop saw. */
export interface Outcome {
  readonly title: string;
  /** The request, as a person would read it. */
  readonly request: string;
  readonly answer: Answer;
  readonly traceId: string;
  /** Final hop reports by service. */
  readonly hops: ReadonlyMap<string, Hop>;
  readonly checks: readonly Check[];
  /** Scenario 3: when the client hung up, epoch ms. */
  readonly disconnectedAtMs?: number | undefined;
}

const ALICE = { authorization: 'Bearer token-alice' };

function newTraceparent(): { traceId: string; traceparent: string } {
  const traceId = randomBytes(16).toString('hex');
  return { traceId, traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` };
}

/** Every hop of a created order: the calls, then the event's consumer and the job it enqueued. */
const ALL_HOPS = ['gateway', 'orders', 'inventory', 'billing', 'fulfilment', 'receipt-job'];

const finals = (...services: string[]) => (hops: { kind: string; hop: Hop }[]) =>
  services.every((s) => hops.some((h) => h.kind === 'hop' && h.hop.service === s));

function check(what: string, ok: boolean): Check {
  return { what, ok };
}

const every = (hops: ReadonlyMap<string, Hop>, p: (hop: Hop) => boolean) => hops.size > 0 && [...hops.values()].every(p);

/** 1. A normal order: every hop sees one trace id and the user, and less budget than its caller. */
export async function normalOrder(services: Services): Promise<Outcome> {
  const { traceId, traceparent } = newTraceparent();
  const body = { sku: 'book', quantity: 1, inventoryWorkMs: 40, billingWorkMs: 15 };
  const answer = await send('POST', `${services.gatewayUrl}/orders`, { ...ALICE, traceparent }, body).answer;
  await services.waitFor(traceId, finals(...ALL_HOPS), 'the hop reports of a normal order, its event and its job');
  const hops = services.finished(traceId);
  const g = hops.get('gateway')!;
  const o = hops.get('orders')!;
  const i = hops.get('inventory')!;
  const b = hops.get('billing')!;
  const asyncLeg = [hops.get('fulfilment')!, hops.get('receipt-job')!];
  return {
    title: 'A normal order',
    request: 'POST /orders {"sku":"book","quantity":1}  (Authorization: Bearer token-alice, traceparent)',
    answer,
    traceId,
    hops,
    checks: [
      check('the gateway answered 201 Created', answer.status === 201),
      check('every hop ended OK', every(hops, (h) => h.status === 'OK')),
      check(`every hop saw trace id ${traceId}`, every(hops, (h) => h.traceId === traceId)),
      check('every hop saw user alice', every(hops, (h) => h.userId === 'alice')),
      check(
        'the budget shrank hop by hop (gateway ≥ orders ≥ inventory; billing, called after inventory, < inventory)',
        g.budgetAtArrivalMs >= o.budgetAtArrivalMs && o.budgetAtArrivalMs >= i.budgetAtArrivalMs && b.budgetAtArrivalMs < i.budgetAtArrivalMs,
      ),
      check(
        'the orders.created event (NATS) and the receipt job (BullMQ) ran detached: no budget, the request id of the order',
        asyncLeg.every((h) => h.budgetAtArrivalMs < 0 && h.requestId === g.requestId),
      ),
    ],
  };
}

/** 2. A budget too small for the chain: 504 at the gateway, the deadline below, the deepest hop aborted. */
export async function budgetTooSmall(services: Services): Promise<Outcome> {
  const { traceId, traceparent } = newTraceparent();
  const body = { sku: 'book', quantity: 1, inventoryWorkMs: 5_000 };
  const answer = await send('POST', `${services.gatewayUrl}/orders`, { ...ALICE, traceparent, 'request-timeout-ms': '800' }, body).answer;
  await services.waitFor(traceId, finals('gateway', 'orders', 'inventory'), 'the hop reports of a timed-out order');
  const hops = services.finished(traceId);
  const aborted = (h: Hop | undefined) => h !== undefined && h.abortedAtMs > 0 && (h.abortReason === 'DEADLINE_EXCEEDED' || h.abortReason === 'CANCELLED');
  return {
    title: 'A budget too small for the chain',
    request: 'POST /orders (request-timeout-ms: 800; inventory works 5 s)',
    answer,
    traceId,
    hops,
    checks: [
      check('the gateway answered 504 DEADLINE_EXCEEDED', answer.status === 504 && (answer.body as { code?: string }).code === 'DEADLINE_EXCEEDED'),
      check('the gateway saw a budget of at most 800 ms', hops.get('gateway')!.budgetAtArrivalMs <= 800),
      // By its context's timer or its call's deadline, whichever fired first: the same instant.
      check('the gateway hop ended DEADLINE_EXCEEDED', hops.get('gateway')!.status === 'DEADLINE_EXCEEDED'),
      // Orders may end first by its call to inventory timing out, before its own context aborts.
      check('orders ended with DEADLINE_EXCEEDED (or CANCELLED by the gateway at that instant)', ['DEADLINE_EXCEEDED', 'CANCELLED'].includes(hops.get('orders')!.status)),
      check('inventory (the deepest hop) saw its context abort at the deadline', aborted(hops.get('inventory'))),
      check('inventory did not finish its work', hops.get('inventory')!.status !== 'OK'),
      check('billing was never called', !hops.has('billing')),
    ],
  };
}

/** 3. The client disconnects mid-request: every hop still working is cancelled. */
export async function clientDisconnects(services: Services): Promise<Outcome> {
  const { traceId, traceparent } = newTraceparent();
  const body = { sku: 'book', quantity: 1, billingWorkMs: 8_000 };
  const call = send('POST', `${services.gatewayUrl}/orders`, { ...ALICE, traceparent, 'request-timeout-ms': '5000' }, body);
  const lost = call.answer.then(
    () => false,
    () => true,
  );
  // Hang up once billing, the last hop, is working: then every hop is in the middle of the request.
  await services.waitFor(traceId, (hops) => hops.some((h) => h.kind === 'hop-start' && h.hop.service === 'billing'), 'billing to start');
  const disconnectedAtMs = Date.now();
  call.disconnect();
  await services.waitFor(traceId, finals('gateway', 'orders', 'inventory', 'billing'), 'the hop reports of a cancelled order');
  const hops = services.finished(traceId);
  const cancelled = (s: string) => hops.get(s)?.abortReason === 'CANCELLED' && hops.get(s)!.abortedAtMs >= disconnectedAtMs;
  return {
    title: 'The client disconnects mid-request',
    request: 'POST /orders (billing works 8 s; the client hangs up once billing has started)',
    answer: { status: 0, headers: {}, body: (await lost) ? 'connection closed by the client' : 'answered?' },
    traceId,
    hops,
    disconnectedAtMs,
    checks: [
      check('the gateway context was cancelled (CANCELLED) after the disconnect', cancelled('gateway')),
      check('orders was cancelled (gRPC cancel from the gateway)', cancelled('orders') && hops.get('orders')!.status === 'CANCELLED'),
      check('billing was cancelled (HTTP request aborted by orders)', cancelled('billing') && hops.get('billing')!.status === 'CANCELLED'),
      check('inventory had finished before the disconnect, untouched', hops.get('inventory')?.status === 'OK' && hops.get('inventory')!.abortedAtMs === 0),
    ],
  };
}

/** Headers a hostile or confused client sends; none of them may change who the user is or reach inside. */
export const HOSTILE_HEADERS = {
  'user-id': 'admin',
  'x-user-id': 'admin',
  baggage: 'user-id=admin',
  traceparent: '00-not-a-trace-id-01',
  'trace-id': 'x'.repeat(300),
  'x-request-id': 'caf\u00e9',
  'request-timeout-ms': '600000',
  'grpc-timeout': '1n',
} as const;

/** 4. Spoofed user-id and hostile headers: ignored; the authenticated user flows. */
export async function hostileHeaders(services: Services): Promise<Outcome> {
  const body = { sku: 'mug', quantity: 1 };
  const answer = await send('POST', `${services.gatewayUrl}/orders`, { ...ALICE, ...HOSTILE_HEADERS }, body).answer;
  const traceId = String(answer.headers['trace-id'] ?? '');
  await services.waitFor(traceId, finals(...ALL_HOPS), 'the hop reports of the hostile request');
  const hops = services.finished(traceId);
  const gateway = hops.get('gateway');
  // Besides ctxkit's ids, a hop may carry the W3C traceparent its caller's OpenTelemetry sent.
  const inside = new Set(['trace-id', 'request-id', 'user-id', 'traceparent', 'tracestate']);
  const hostileValues = new Set<string>(Object.values(HOSTILE_HEADERS));
  const nothingHostile = (h: Hop) => Object.entries(h.metadata).every(([k, v]) => inside.has(k) && !hostileValues.has(v));
  return {
    title: 'A spoofed user-id and hostile headers',
    request: `POST /orders (Bearer token-alice, plus ${Object.keys(HOSTILE_HEADERS).join(', ')})`,
    answer,
    traceId,
    hops,
    checks: [
      check('the gateway answered 201 Created', answer.status === 201),
      check('every hop saw user alice, not admin', every(hops, (h) => h.userId === 'alice' && h.metadata['user-id'] === 'alice')),
      check('the bad trace ids were refused: a fresh W3C id, the same at every hop', /^[0-9a-f]{32}$/.test(traceId) && every(hops, (h) => h.traceId === traceId)),
      check('the 600000 ms timeout asked for was clamped to the gateway maximum (5000 ms)', gateway !== undefined && gateway.budgetAtArrivalMs <= 5000),
      check('the gateway reported what it refused', (gateway?.dropped.length ?? 0) > 0),
      check('no hostile header or value travelled inside (only ids, user and W3C trace context)', every(hops, nothingHostile)),
    ],
  };
}

/** All four, in order. */
export const SCENARIOS = [normalOrder, budgetTooSmall, clientDisconnects, hostileHeaders] as const;
