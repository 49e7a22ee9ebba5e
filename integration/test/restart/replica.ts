/**
 * One replica of the rolling-restart test, in its own process: `node replica.ts <name> <port>`.
 * A grpc-js server with ctxkit's server side and live contexts; its one method works for the
 * requested time, cancellably, and tells the test when work longer than the drain budget starts
 * and ends. On SIGTERM it shuts down as cancellation (drain, then cancel) and
 * reports over IPC, before it exits, what the drain did and how many handlers are still running.
 */
import { currentContext, LiveContexts } from '@ctxkit/core';
import { serverInterceptor, shutdownServer, wrapService } from '@ctxkit/grpc';
import * as grpc from '@grpc/grpc-js';
import { DRAIN_MS, type Reply, type Work, WorkService } from './work.ts';
import { sleep } from '@ctxkit/test-support/wait';

const [name, portArg] = process.argv.slice(2);
const live = new LiveContexts();
let started = 0;
let ended = 0;


const server = new grpc.Server({ interceptors: [serverInterceptor({ live })] });
server.addService(
  WorkService,
  wrapService({
    async work(call: grpc.ServerUnaryCall<Work, Reply>): Promise<Reply> {
      started++;
      // The test stops a replica while work longer than the drain budget runs on it.
      const long = call.request.ms > DRAIN_MS;
      if (long) process.send!({ type: 'long', running: +1, at: Date.now() });
      try {
        const ctx = currentContext();
        await sleep(call.request.ms, ctx.signal);
        const attempt = Number(call.metadata.get('grpc-previous-rpc-attempts')[0] ?? 0);
        return { replica: name!, pid: process.pid, attempt };
      } finally {
        ended++;
        if (long) process.send!({ type: 'long', running: -1 });
      }
    },
  }),
);
const port = await new Promise<number>((resolve, reject) =>
  server.bindAsync(`127.0.0.1:${portArg ?? 0}`, grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
);
process.send!({ type: 'ready', port, pid: process.pid });

process.once('SIGTERM', async () => {
  const drain = await shutdownServer(server, live, { drainMs: DRAIN_MS, graceMs: 2_000 });
  process.send!({ type: 'stopped', drain, started, ended, running: started - ended }, () => process.exit(0));
});
