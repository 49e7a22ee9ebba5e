/**
 * One request id names a request along the whole chain (DESIGN: "The id of the request that
 * started this chain"). The edge makes it; internal hops that trust their peers keep it.
 */
import { createContext, runWithContext } from '@ctxkit/core';
import { clientInterceptor } from '@ctxkit/grpc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Chain, child, startChain } from './support/chain.ts';
import { hopClient, type Report } from './support/hop-service.ts';
import { rawRequest } from './support/raw-http.ts';

let chain: Chain;
beforeAll(async () => {
  chain = await startChain();
});
afterAll(async () => {
  await chain.close();
});

describe('request-id along the chain', () => {
  it('the edge ignores a client request-id and the gRPC hop keeps the edge one', async () => {
    const res = await rawRequest(chain.edge.port, { headers: [['request-id', 'from-client']], body: JSON.stringify(chain.plan) });
    const edge = JSON.parse(res.body) as Report;
    expect(edge.ctx.requestId).not.toBe('from-client');
    expect(res.header('request-id')).toBe(edge.ctx.requestId);
    expect(child(edge).ctx.requestId).toBe(edge.ctx.requestId);
  });

  // Found here first: the framework's own id (Fastify's `req-N`) used to win over a trusted
  // peer's `request-id` (fixed in core 293f631, compileExtractor).
  it('an internal Fastify hop (trust internal) keeps the request-id its peer sent', async () => {
    // A chain started by a job (not by the edge, whose Fastify counter could match the hop's).
    using ctx = createContext({ requestId: 'job-7f3a' });
    const client = hopClient(chain.grpc.target, { interceptors: [clientInterceptor()] });
    try {
      const grpc = await runWithContext(ctx, () => client.call({ calls: [{ kind: 'http', target: chain.http.target }] }));
      expect(grpc.ctx.requestId).toBe('job-7f3a');
      const http = child(grpc);
      expect(http.received).toContainEqual(['request-id', 'job-7f3a']);
      expect(http.ctx.requestId).toBe('job-7f3a');
    } finally {
      client.close();
    }
  });
});
