/**
 * One replica of a service that starts chains, as its own process: a Fastify edge, an Express
 * service or a gRPC server, each calling the test's leaf. `node replica.ts <kind> <leaf target>`;
 * prints {"event":"listening","port":N} and exits when its stdin closes.
 */
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { currentContext } from '@ctxkit/core';
import { ctxkit } from '@ctxkit/express';
import { ClientPool, wrapService } from '@ctxkit/grpc';
import express from 'express';
import { hop, Relay, startEdge } from './chain.ts';

const [kind, leaf] = process.argv.slice(2) as [string, string];
const pool = new ClientPool({ credentials: grpc.credentials.createInsecure() });
const next = pool.get(Relay, leaf);
let port: number;

if (kind === 'fastify') {
  port = (await startEdge(leaf)).port;
} else if (kind === 'express') {
  const app = express();
  app.use(ctxkit({ trust: 'edge' }));
  app.get('/hop', async (_req, res) => {
    res.json({ ...(await hop(next, 'ok')), requestId: currentContext().requestId });
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  port = (server.address() as AddressInfo).port;
} else {
  const server = new grpc.Server();
  server.addService(Relay.service, wrapService({ Hop: async () => hop(next, 'ok') }));
  port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
}
process.stdout.write(`${JSON.stringify({ event: 'listening', port })}\n`);
process.stdin.resume().on('end', () => process.exit(0));
