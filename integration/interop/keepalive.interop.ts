/**
 * Keepalive beside a grpc-go server. grpc-go's enforcement (internal/transport/http2_server.go,
 * handlePing): a ping is a strike when it comes sooner than `MinTime` after the previous one, or
 * when no stream is open and `PermitWithoutStream` is false; any header or data the server
 * writes clears the strikes; the third strike is answered GOAWAY ENHANCE_YOUR_CALM
 * "too_many_pings" and the connection is closed. Defaults: MinTime 5 min, PermitWithoutStream
 * false (keepalive/keepalive.go).
 *
 * So a client is accepted by a default server when it never pings without calls and never
 * sooner than 5 min after its last ping: that is `channelKeepalive`, checked below by value. The
 * tests prove the two halves of that argument against real servers without waiting minutes:
 * 1. at the default policy, the default preset sends no ping at all between calls while the
 *    aggressive preset's shape (pings also without calls; interval shortened to 100 ms) is
 *    refused within a second — so the default server does enforce, and the tap would see it;
 * 2. with MinTime shortened to 400 ms (PermitWithoutStream still false), pings at the default's
 *    ratio to MinTime (1:1) all through a call are accepted, where pings 4× as often on the same
 *    server are refused.
 */
import * as grpc from '@grpc/grpc-js';
import { createContext, runWithContext } from '@ctxkit/core';
import { aggressiveChannelKeepalive, ClientPool, channelKeepalive, Status } from '@ctxkit/grpc';
import { afterEach, describe, expect, it } from 'vitest';
import { closeAll, hop, Relay } from './support/chain.ts';
import { startTap, type Tap } from './support/h2-tap.ts';
import { type Peer, startGoRelay } from './support/peers.ts';

const ENHANCE_YOUR_CALM = 0xb;
const GO_DEFAULT_MIN_TIME_MS = 5 * 60_000;

let go: Peer | undefined;
const taps: Tap[] = [];
const pools: ClientPool[] = [];

afterEach(async () => {
  for (const pool of pools.splice(0)) pool.close();
  await closeAll(go, ...taps.splice(0));
  go = undefined;
});

async function client(goPort: number, channelOptions?: grpc.ChannelOptions) {
  const tap = await startTap(goPort);
  taps.push(tap);
  const pool = new ClientPool({ credentials: grpc.credentials.createInsecure(), channelOptions });
  pools.push(pool);
  const relay = pool.get(Relay, tap.target);
  return { tap, call: (action: string) => runWithContext(createContext(), () => hop(relay, action)) };
}

describe('keepalive against grpc-go', () => {
  it('the default preset stays within grpc-go’s default enforcement', () => {
    expect(channelKeepalive['grpc.keepalive_permit_without_calls']).toBe(0);
    expect(channelKeepalive['grpc.keepalive_time_ms']).toBeGreaterThanOrEqual(GO_DEFAULT_MIN_TIME_MS);
  });

  it('a default Go server refuses the aggressive shape between calls, and the default preset sends it no ping', async () => {
    const started = await startGoRelay([]); // grpc-go's default enforcement policy
    go = started.peer;
    const byDefault = await client(started.port); // ClientPool's default: channelKeepalive
    const aggressive = await client(started.port, { ...aggressiveChannelKeepalive, 'grpc.keepalive_time_ms': 100 });
    await expect(byDefault.call('ok')).resolves.toEqual({ servedBy: 'go' });
    await expect(aggressive.call('ok')).resolves.toEqual({ servedBy: 'go' });

    expect(await aggressive.tap.goaway()).toEqual({ code: ENHANCE_YOUR_CALM, debug: 'too_many_pings' });
    expect(aggressive.tap.seen.pings.length).toBeGreaterThanOrEqual(3);
    // Over the same idle time the default preset pinged not once and kept its connection.
    expect(byDefault.tap.seen.pings).toEqual([]);
    await expect(byDefault.call('ok')).resolves.toEqual({ servedBy: 'go' });
    expect(byDefault.tap.seen).toMatchObject({ connections: 1, goaways: [] });
  });

  it('pings no more often than MinTime, during a call, are accepted; four times as often are refused', async () => {
    const started = await startGoRelay(['-min-time', '400ms']);
    go = started.peer;
    const atPolicy = await client(started.port, { ...channelKeepalive, 'grpc.keepalive_time_ms': 400 });
    const tooOften = await client(started.port, { ...channelKeepalive, 'grpc.keepalive_time_ms': 100 });
    const [accepted, refused] = await Promise.allSettled([atPolicy.call('sleep:2500'), tooOften.call('sleep:2500')]);

    expect(accepted).toEqual({ status: 'fulfilled', value: { servedBy: 'go' } });
    expect(atPolicy.tap.seen.pings.length).toBeGreaterThanOrEqual(4);
    expect(atPolicy.tap.seen.goaways).toEqual([]);
    // grpc-js fails calls on a connection closed with ENHANCE_YOUR_CALM as RESOURCE_EXHAUSTED.
    expect(refused).toMatchObject({ status: 'rejected', reason: { code: Status.RESOURCE_EXHAUSTED } });
    expect(tooOften.tap.seen.goaways).toEqual([{ code: ENHANCE_YOUR_CALM, debug: 'too_many_pings' }]);
  });
});
