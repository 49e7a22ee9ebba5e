import { randomBytes } from 'node:crypto';
import { currentContext } from '@ctxkit/core';
import { Agent, request } from 'undici';
import { afterEach, expect, it } from 'vitest';
import { callDownstream, closeAll, listen, makeApp, startDownstream } from './helpers.js';

afterEach(closeAll);

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

it('1,000 concurrent requests on keep-alive connections each see their own ids, downstream too', async () => {
  const downstream = await startDownstream();
  const { app } = await makeApp({ resolveUser: async (req) => { await pause(Math.random() * 3); return `u-${req.headers['x-n']}`; } }, { logger: false });
  app.post('/work', async (req) => {
    const ctx = currentContext();
    const before = { trace: ctx.traceId, request: ctx.requestId, user: ctx.userId };
    await pause(Math.random() * 5);
    const first = await callDownstream(downstream.port);
    await pause(Math.random() * 5);
    const second = await callDownstream(downstream.port);
    const after = currentContext();
    return {
      n: (req.body as { n: number }).n,
      id: currentContext().requestId,
      before,
      after: { trace: after.traceId, request: after.requestId, user: after.userId },
      downstream: [first, second].map((h) => ({ trace: h['trace-id'], request: h['request-id'], user: h['user-id'] })),
    };
  });
  const port = await listen(app);
  // Few connections, many requests each: a context leaking from one request into the next
  // on the same socket would show.
  const agent = new Agent({ connections: 20, pipelining: 1 });
  try {
    const traceIds = Array.from({ length: 1000 }, () => randomBytes(16).toString('hex'));
    const answers = await Promise.all(
      traceIds.map(async (traceId, n) => {
        const res = await request(`http://127.0.0.1:${port}/work`, {
          method: 'POST',
          dispatcher: agent,
          headers: { 'trace-id': traceId, 'x-n': String(n), 'content-type': 'application/json' },
          body: JSON.stringify({ n }),
        });
        return { traceId, n, status: res.statusCode, header: res.headers['trace-id'], body: (await res.body.json()) as any };
      }),
    );
    const requestIds = new Set<string>();
    for (const a of answers) {
      expect(a.status).toBe(200);
      expect(a.header).toBe(a.traceId);
      const b = a.body;
      expect(b.n).toBe(a.n);
      const own = { trace: a.traceId, request: b.id, user: `u-${a.n}` };
      expect(b.before).toEqual(own);
      expect(b.after).toEqual(own);
      expect(b.downstream).toEqual([own, own]);
      requestIds.add(b.id);
    }
    expect(requestIds.size).toBe(1000);
  } finally {
    await agent.close();
  }
});
