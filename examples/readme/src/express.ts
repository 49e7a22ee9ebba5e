import { currentContext } from '@ctxkit/core';
import { ctxFetch } from '@ctxkit/core/fetch';
import { ctxkit, ctxkitErrorHandler } from '@ctxkit/express';
import express from 'express';

const app = express();
// Behind the gateway, peers are trusted: their ids, user and keys are taken. At a public edge,
// leave trust out (the edge rule: a client sets nothing but the trace id).
app.use(ctxkit({ trust: 'internal', defaultTimeoutMs: 2_000 }));
app.use(express.json());
app.post('/invoices', (req, res) => {
  const { traceId, userId } = currentContext(); // the same object as req.ctx
  res.json({ invoice: req.body, traceId, userId, left: req.ctx.remainingMs() });
});
app.post('/orders', async (req, res) => {
  // Outgoing HTTP with the context-carrying fetch: ids, remaining budget, cancellation.
  const billed = await ctxFetch(`${base}/invoices`, { method: 'POST', body: JSON.stringify(req.body), headers: { 'content-type': 'application/json' } });
  res.json(await billed.json());
});
app.use(ctxkitErrorHandler()); // last

const server = app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1');
await new Promise((resolve) => server.once('listening', resolve));
const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
console.log(`listening on ${base}`);
process.once('SIGTERM', () => server.close());
