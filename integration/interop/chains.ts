/**
 * The assertions every foreign relay in the middle of a ctxkit chain must pass: ctxkit edge →
 * relay → ctxkit leaf, with the relay's own view read from its events.
 */
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { CancelledError, DeadlineExceededError } from '@ctxkit/core';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { closeAll, type Edge, type Leaf, startEdge, startLeaf } from './support/chain.ts';
import type { Peer } from './support/peers.ts';

export const hex = (bytes: number): string => randomBytes(bytes).toString('hex');

/** What a relay says when its context ended early: Go's ctx.Err(), or the Python relay's word. */
export interface RelayWords {
  readonly deadline: string;
  readonly cancelled: string;
  /** The relay's name in `servedBy`. */
  readonly name: string;
  /** Whether the relay reports its own trace id (otel-go does; the Python relay passes W3C through). */
  readonly readsTrace: boolean;
  /**
   * How far the relay's own `grpc-timeout` encoding may round a budget of `ms` up. grpc-go sends
   * nanoseconds (0); gRPC C-core (grpcio) keeps three significant figures, rounding up: exact
   * below 1 s, to 10 ms below 10 s, to 100 ms below 100 s (`Timeout::FromMillis`).
   */
  readonly roundsUpMs: (ms: number) => number;
}

/** Registers the chain tests for a relay started by `start(leafTarget)`. */
export function relayChain(start: (leafTarget: string) => Promise<{ peer: Peer; port: number }>, words: RelayWords): void {
  let leaf: Leaf | undefined;
  let relay: Peer | undefined;
  let edge: Edge | undefined;

  beforeEach(async () => {
    leaf = await startLeaf();
    const started = await start(leaf.target);
    relay = started.peer;
    edge = await startEdge(`127.0.0.1:${started.port}`);
  });
  afterEach(async () => {
    await closeAll(edge, relay, leaf);
    leaf = relay = edge = undefined;
  });

  /** One request through edge → relay → leaf that every hop answers; what each of them saw. */
  async function hopThrough(headers: Record<string, string>) {
    const res = await fetch(`${edge!.url}/hop?action=ok`, { headers });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { servedBy: string; requestId: string; traceId: string };
    expect(body.servedBy).toBe(`leaf,${words.name},edge`);
    const mid = await relay!.next('hop');
    return { body, mid, atEdge: edge!.views[0]!, atLeaf: leaf!.views[0]! };
  }

  it('carries one trace id, request id and user id through every hop, the budget shrinking', async () => {
    const traceId = hex(16);
    const { body, mid, atEdge, atLeaf } = await hopThrough({
      traceparent: `00-${traceId}-${hex(8)}-01`,
      authorization: 'Bearer alice',
      'request-timeout-ms': '2000',
    });
    expect(atEdge.traceId).toBe(traceId);
    expect(mid.traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-0[01]$`));
    if (words.readsTrace) expect(mid.traceId).toBe(traceId);
    expect(atLeaf.traceId).toBe(traceId);
    expect(mid.requestId).toBe(atEdge.requestId);
    expect(atLeaf.requestId).toBe(atEdge.requestId);
    expect(body.requestId).toBe(atEdge.requestId);
    expect(mid.userId).toBe('alice');
    expect(atLeaf.userId).toBe('alice');
    const budgets = [atEdge.remainingMs, mid.budgetMs as number, atLeaf.remainingMs];
    expect(budgets[0]).toBeLessThanOrEqual(2000);
    expect(budgets[1]).toBeGreaterThan(0);
    // Each hop sees what its caller had left, less the time in between (whole ms, so ≤ +1), plus
    // whatever the relay's timeout encoding rounds up.
    const slack = words.roundsUpMs(budgets[1]!);
    expect(budgets[1]).toBeLessThanOrEqual(budgets[0]! + 1);
    expect(budgets[2]).toBeLessThanOrEqual(budgets[1]! + 1 + slack);
    if (slack === 0) expect(budgets[2]).toBeLessThan(budgets[0]!);
    else expect(budgets[2]).toBeLessThanOrEqual(budgets[0]! + slack);
  });

  // The defect this guards: a request that brings no usable trace gets a new one at the edge, and
  // the traceparent the edge starts for its gRPC call is what the relay's tracing joins.
  const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
  const anyTrace = hex(16);
  it.each([
    ['no traceparent', undefined],
    ['an all-zero trace id', `00-${'0'.repeat(32)}-${hex(8)}-01`],
    ['version ff', `ff-${anyTrace}-${hex(8)}-01`],
    ['uppercase hex', `00-${anyTrace.toUpperCase()}-${hex(8).toUpperCase()}-01`],
  ])('a request with %s starts a new trace at the edge, which the relay and the leaf join', async (_case, traceparent) => {
    const { body, mid, atEdge, atLeaf } = await hopThrough(traceparent === undefined ? {} : { traceparent });
    expect(atEdge.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(atEdge.traceId).not.toBe('0'.repeat(32));
    expect(atEdge.traceId).not.toBe(anyTrace); // nothing of an invalid traceparent is kept
    expect(body.traceId).toBe(atEdge.traceId);
    // What the edge sent: its own trace id, a parent id of its own.
    const sent = TRACEPARENT.exec(String(mid.traceparent));
    expect(sent, `the relay received ${String(mid.traceparent)}`).not.toBeNull();
    const [, sentTrace, sentParent] = sent!;
    expect(sentTrace).toBe(atEdge.traceId);
    expect(sentParent).not.toBe('0'.repeat(16));
    if (words.readsTrace) {
      // The relay's own tracing (otel-go's W3C propagator) joined it: same trace, and its span's
      // remote parent is the parent id the edge sent.
      expect(mid.traceId).toBe(atEdge.traceId);
      expect(mid.parentSpanId).toBe(sentParent);
      expect(mid.parentRemote).toBe(true);
    }
    // The leaf behind the relay is in the same trace.
    expect(atLeaf.traceId).toBe(atEdge.traceId);
  });

  it('answers 504 at the edge in time when the deadline passes at the leaf, whose context ends DEADLINE_EXCEEDED', async () => {
    const started = performance.now();
    const res = await fetch(`${edge!.url}/hop?action=hang`, { headers: { 'request-timeout-ms': '400' } });
    const took = performance.now() - started;
    expect(res.status).toBe(504);
    expect(took).toBeGreaterThanOrEqual(390);
    expect(took).toBeLessThan(400 + 3_000); // bounded by the budget, not by the leaf (slack for a loaded CI machine)
    const reason = leaf!.aborts[0] ?? (await leaf!.nextAbort());
    expect(reason).toBeInstanceOf(DeadlineExceededError);
    expect((await relay!.next('ctx-done')).err).toBe(words.deadline);
  });

  it('cancels the relay and then the leaf (CANCELLED) when the client hangs up', async () => {
    const arrived = leaf!.nextCall();
    const req = request(`${edge!.url}/hop?action=hang`, { headers: { 'request-timeout-ms': '30000' } });
    req.on('error', () => {}); // the socket we destroy
    req.end();
    await arrived;
    const aborted = leaf!.nextAbort();
    req.destroy();
    expect((await relay!.next('ctx-done')).err).toBe(words.cancelled);
    expect(await aborted).toBeInstanceOf(CancelledError);
    expect(edge!.aborts[0]).toBeInstanceOf(CancelledError);
  });

  it("turns the leaf's status errors into the relay's own status codes and the edge's HTTP status", async () => {
    const notFound = await fetch(`${edge!.url}/hop?action=notfound`);
    expect(notFound.status).toBe(404);
    expect(((await notFound.json()) as { message: string }).message).toBe('no such sku');
    expect(await relay!.next('downstream-error')).toMatchObject({ code: 5, message: 'no such sku' });
  });

  it('never lets an internal message reach the relay or the client', async () => {
    const failed = await fetch(`${edge!.url}/hop?action=internal`);
    expect(failed.status).toBe(500);
    const text = await failed.text();
    const seen = await relay!.next('downstream-error');
    expect(seen.code).toBe(13);
    for (const secret of ['hunter2', '10.0.0.7']) {
      expect(String(seen.message)).not.toContain(secret);
      expect(text).not.toContain(secret);
    }
    // Logged in full where it happened.
    expect(leaf!.logged.map((r) => String((r as { error?: { message?: unknown } }).error?.message))).toEqual([
      'db at 10.0.0.7 refused password hunter2',
    ]);
  });
}
