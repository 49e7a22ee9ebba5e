/**
 * Replicas of a service that starts chains, each its own process, never send the same request
 * id downstream (Fastify's own request.id is a per-process counter: req-1 in every replica).
 */
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { closeAll, type Leaf, Relay, startLeaf } from './support/chain.ts';
import { listening, Peer } from './support/peers.ts';

const REPLICA = fileURLToPath(new URL('./support/replica.ts', import.meta.url));
const REQUESTS = 3;

let leaf: Leaf | undefined;
const replicas: Peer[] = [];
afterEach(async () => {
  await closeAll(leaf, ...replicas.splice(0));
  leaf = undefined;
});

async function startReplicas(kind: string): Promise<number[]> {
  leaf = await startLeaf();
  const started = [0, 1].map(() => new Peer(`${kind} replica`, process.execPath, [REPLICA, kind, leaf!.target]));
  replicas.push(...started);
  return Promise.all(started.map(listening));
}

function expectDistinct(ids: readonly string[]): void {
  expect(ids).toHaveLength(2 * REQUESTS);
  expect(new Set(ids).size).toBe(ids.length);
  for (const id of ids) expect(id).toMatch(/^[0-9a-f]{16}$/);
}

describe('two replicas never share a request id', () => {
  for (const kind of ['fastify', 'express']) {
    it(`${kind}`, async () => {
      const ports = await startReplicas(kind);
      for (let i = 0; i < REQUESTS; i++) {
        for (const port of ports) expect((await fetch(`http://127.0.0.1:${port}/hop`)).status).toBe(200);
      }
      expectDistinct(leaf!.views.map((v) => v.requestId));
    });
  }

  it('grpc', async () => {
    const ports = await startReplicas('grpc');
    const clients = ports.map((port) => new Relay(`127.0.0.1:${port}`, grpc.credentials.createInsecure()));
    try {
      for (let i = 0; i < REQUESTS; i++) {
        for (const client of clients) {
          await new Promise((resolve, reject) => client.Hop({ action: 'ok' }, (e, r) => (e ? reject(e) : resolve(r))));
        }
      }
    } finally {
      for (const client of clients) client.close();
    }
    expectDistinct(leaf!.views.map((v) => v.requestId));
  });
});
