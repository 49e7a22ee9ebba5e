/** HTTP in core: disconnect detection on real sockets, and the outgoing fetch and undici paths. */
import { once } from 'node:events';
import http, { type IncomingHttpHeaders } from 'node:http';
import { CancelledError, createContext, type OwnedContext, runWithContext, tryCurrentContext } from '@ctxkit/core';
import { ctxFetch, undiciInterceptor } from '@ctxkit/core/fetch';
import { compileHttpContext } from '@ctxkit/core/adapter';
import { type Case, check, same } from '../harness.ts';
import { close, hangUp, listen, request, signal } from '../support.ts';

async function disconnect(): Promise<void> {
  const start = compileHttpContext();
  const started = signal<OwnedContext>();
  const completed = signal<OwnedContext>();
  const server = http.createServer((req, res) => {
    const ctx = start.start(req, res);
    if (req.url === '/hold') {
      started.resolve(ctx); // never answered: the client leaves first
      return;
    }
    // A request whose body was read, then answered: its request stream closes, which is no disconnect.
    req.resume();
    req.on('end', () => {
      res.end('ok');
      completed.resolve(ctx);
    });
  });
  const port = await listen(server);
  try {
    const reply = await request(port, '/body', { method: 'POST', body: 'x'.repeat(10_000) });
    same(reply.status, 200, 'a request with a body');
    const answered = await completed.promise;
    await new Promise<void>((resolve) => setImmediate(resolve));
    check(!answered.signal.aborted, 'a request answered after its body was read is not cancelled');

    let inListener: unknown;
    const aborted = started.promise.then(async (ctx) => {
      ctx.signal.addEventListener('abort', () => {
        inListener = tryCurrentContext();
      });
      await once(ctx.signal, 'abort');
      return ctx;
    });
    await hangUp(port, '/hold', started.promise);
    const ctx = await aborted;
    check(ctx.signal.reason instanceof CancelledError, 'a client that hung up cancels the context');
    same(inListener, ctx, 'the abort listener runs in the cancelled context');
  } finally {
    await close(server);
  }
}

/** A server that records the headers of every request and can hold one until its client aborts. */
async function recorder() {
  const seen: IncomingHttpHeaders[] = [];
  const held = signal<void>();
  const gone = signal<void>();
  const server = http.createServer((req, res) => {
    seen.push(req.headers);
    if (req.url === '/hold') {
      res.on('close', () => gone.resolve());
      held.resolve();
      return;
    }
    res.end('ok');
  });
  const port = await listen(server);
  return { seen, held, gone, server, url: `http://127.0.0.1:${port}` };
}

function checkPropagated(headers: IncomingHttpHeaders | undefined, ctx: OwnedContext, what: string): void {
  check(headers !== undefined, `${what}: the server saw the request`);
  same(headers['trace-id'], ctx.traceId, `${what}: trace-id`);
  same(headers['request-id'], ctx.requestId, `${what}: request-id`);
  const tp = headers.traceparent;
  check(tp === undefined || String(tp).includes(ctx.traceId), `${what}: a traceparent carries the trace id`);
  const budget = Number(headers['request-timeout-ms']);
  check(budget > 0 && budget <= 5_000, `${what}: the remaining budget is sent (${String(headers['request-timeout-ms'])})`);
}

async function fetchPropagation(): Promise<void> {
  const r = await recorder();
  const ctx = createContext({ timeoutMs: 5_000 });
  try {
    await runWithContext(ctx, async () => {
      const res = await ctxFetch(`${r.url}/plain`);
      same(await res.text(), 'ok', 'fetch body');
      checkPropagated(r.seen[0], ctx, 'fetch');
      same(tryCurrentContext(), ctx, 'after fetch resolved');
      // Cancelling the context aborts the call in flight, and the server sees the client go.
      const pending = ctxFetch(`${r.url}/hold`);
      await r.held.promise;
      ctx.cancel();
      const error = await pending.then(() => undefined, (e: unknown) => e);
      check(error instanceof CancelledError, `fetch rejects with CancelledError, got ${String(error)}`);
      await r.gone.promise;
    });
  } finally {
    ctx.end();
    await close(r.server);
  }
}

async function undiciPropagation(): Promise<void> {
  const { Agent, request: undiciRequest } = await import('undici');
  const r = await recorder();
  const agent = new Agent().compose(undiciInterceptor());
  const ctx = createContext({ timeoutMs: 5_000 });
  try {
    await runWithContext(ctx, async () => {
      const res = await undiciRequest(`${r.url}/plain`, { dispatcher: agent });
      same(await res.body.text(), 'ok', 'undici body');
      checkPropagated(r.seen[0], ctx, 'undici.request');
      same(tryCurrentContext(), ctx, 'after undici.request resolved');
      const pending = undiciRequest(`${r.url}/hold`, { dispatcher: agent });
      await r.held.promise;
      ctx.cancel();
      const error = await pending.then(() => undefined, (e: unknown) => e);
      check(error instanceof CancelledError, `undici.request rejects with CancelledError, got ${String(error)}`);
      await r.gone.promise;
    });
  } finally {
    ctx.end();
    await agent.close();
    await close(r.server);
  }
}

export const httpCases: readonly Case[] = [
  { id: 'disconnect', run: disconnect },
  { id: 'fetch', run: fetchPropagation },
  { id: 'undici', run: undiciPropagation },
];
