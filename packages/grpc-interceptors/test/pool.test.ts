import * as grpc from '@grpc/grpc-js';
import { createContext, runWithContext } from '@ctxkit/core';
import { afterEach, describe, expect, it } from 'vitest';
import { aggressiveChannelKeepalive, ClientPool, channelKeepalive, serverInterceptor, serverKeepalive } from '../src/index.js';
import { Probe, type Running, seen, startServer, unary } from './helpers.js';

let running: Running[] = [];
afterEach(async () => {
  await Promise.all(running.map((r) => r.close()));
  running = [];
});

async function server(): Promise<Running> {
  const r = await startServer(
    { unary: (_call: unknown, cb: grpc.sendUnaryData<unknown>) => cb(null, seen()) },
    { ...serverKeepalive, interceptors: [serverInterceptor()] },
  );
  running.push(r);
  return r;
}

describe('ClientPool', () => {
  it('one client per service and target, reused, carrying the context; closed on shutdown', async () => {
    const [s1, s2] = [await server(), await server()];
    const pool = new ClientPool({ credentials: grpc.credentials.createInsecure() });
    const a = pool.get(Probe, s1.target);
    expect(pool.get(Probe, s1.target)).toBe(a);
    const b = pool.get(Probe, s2.target);
    expect(b).not.toBe(a);
    expect(pool.size).toBe(2);
    const ctx = createContext({ userId: 'pooled' });
    expect(await runWithContext(ctx, () => unary(a))).toMatchObject({ traceId: ctx.traceId, userId: 'pooled' });
    pool.close();
    expect(pool.size).toBe(0);
    expect(a.getChannel().getConnectivityState(false)).toBe(grpc.connectivityState.SHUTDOWN);
    expect(() => pool.get(Probe, s1.target)).toThrow(/after close/);
    pool.close(); // idempotent
  });
});

describe('keepalive presets', () => {
  it('are frozen channel options a server and a client accept', async () => {
    expect(Object.isFrozen(serverKeepalive) && Object.isFrozen(channelKeepalive) && Object.isFrozen(aggressiveChannelKeepalive)).toBe(true);
    // The default stays within gRPC Go's and C++'s default enforcement (one ping per 5 min, none
    // without calls; proven against a Go server in integration/interop); the aggressive preset
    // pings under ALB's idle 60 s.
    expect(channelKeepalive['grpc.keepalive_time_ms']).toBeGreaterThanOrEqual(5 * 60_000);
    expect(channelKeepalive['grpc.keepalive_permit_without_calls']).toBe(0);
    expect(aggressiveChannelKeepalive['grpc.keepalive_time_ms']).toBeLessThan(60_000);
    const s = await server();
    for (const preset of [channelKeepalive, aggressiveChannelKeepalive]) {
      const client = new Probe(s.target, grpc.credentials.createInsecure(), { ...preset });
      await expect(runWithContext(createContext(), () => unary(client))).resolves.toMatchObject({ hasContext: true });
      client.close();
    }
  });
});
