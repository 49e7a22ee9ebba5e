import { once } from 'node:events';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { compileHttpContext } from './adapter.js';
import { CancelledError, currentContext, type RequestContext, runWithContext } from './index.js';

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r) ?? r(undefined));
  server = undefined;
});

async function listen(handler: Parameters<typeof createServer>[1]): Promise<number> {
  server = createServer(handler);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

function get(port: number, headers: Record<string, string> = {}, body?: string) {
  return new Promise<{ status: number; headers: Record<string, unknown>; body: string }>((resolve, reject) => {
    const req = request({ port, host: '127.0.0.1', method: body ? 'POST' : 'GET', headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('compileHttpContext on a real server', () => {
  it('echoes validated ids and ends the context when the exchange closes', async () => {
    const start = compileHttpContext({ defaultTimeoutMs: 5000 });
    let ctx: RequestContext | undefined;
    const port = await listen((req, res) => {
      const owned = start.start(req, res, 'req-1');
      ctx = owned;
      void owned.signal; // arm the deadline timer
      runWithContext(owned, () => res.end(currentContext().traceId));
    });
    const res = await get(port, { 'trace-id': '4bf92f3577b34da6a3ce929d0e0e4736', 'user-id': 'spoofed' });
    expect(res.body).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(res.headers['trace-id']).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(res.headers['request-id']).toBe('req-1');
    expect(res.headers['user-id']).toBeUndefined();
    expect(ctx!.userId).toBeUndefined();
    await new Promise((r) => setImmediate(r));
    expect(ctx!.signal.aborted).toBe(false); // ended normally: released, not cancelled
  });

  it('never echoes an invalid incoming id', async () => {
    const start = compileHttpContext({ onDrop: () => {} });
    const port = await listen((req, res) => {
      start.start(req, res);
      res.end();
    });
    const res = await get(port, { 'trace-id': 'a'.repeat(2000) });
    expect(res.headers['trace-id']).toMatch(/^[0-9a-f]{32}$/);
  });

  it('leaves the echo to an adapter that writes it through its framework, and resolves its log field names', async () => {
    const start = compileHttpContext({ echoHeaders: ['request-id'] }, { echoesIds: true, logFieldNames: { userId: 'user_id' } });
    expect(start.echoedIds).toEqual(['request-id']);
    expect(start.logFieldNames).toEqual({ traceId: 'trace-id', legacyTraceId: 'legacy-trace-id', requestId: 'request-id', userId: 'user_id' });
    expect(compileHttpContext().echoedIds).toEqual(['trace-id', 'request-id']);
    expect(() => compileHttpContext({}, { logFieldNames: { traceId: '' } })).toThrow(TypeError);
    const port = await listen((req, res) => {
      start.start(req, res);
      res.end();
    });
    const res = await get(port);
    expect(res.headers['trace-id']).toBeUndefined();
    expect(res.headers['request-id']).toBeUndefined();
  });

  it('cancels the context when the client goes away, after a POST body was read', async () => {
    const start = compileHttpContext();
    const aborted = Promise.withResolvers<unknown>();
    const requestClosed = Promise.withResolvers<boolean>();
    const port = await listen((req, res) => {
      const ctx = start.start(req, res);
      ctx.signal.addEventListener('abort', () => aborted.resolve(ctx.signal.reason));
      req.resume();
      // The request stream closes once its body is read: that alone must not count as a disconnect.
      req.on('close', () => requestClosed.resolve(ctx.signal.aborted));
    });
    const req = request({ port, host: '127.0.0.1', method: 'POST', headers: { 'content-length': '5' } });
    req.on('error', () => {});
    req.write('hello');
    expect(await requestClosed.promise).toBe(false);
    req.destroy();
    const reason = await Promise.race([
      aborted.promise,
      new Promise((_, rej) => setTimeout(() => rej(new Error('no abort within 2 s')), 2000).unref()),
    ]);
    expect(reason).toBeInstanceOf(CancelledError);
    expect((reason as CancelledError).message).toBe('client disconnected');
  });
});

describe('one context per exchange', () => {
  it('a second adapter joins the context the first one started', async () => {
    const first = compileHttpContext({ defaultTimeoutMs: 5000 });
    const second = compileHttpContext({ trust: 'internal' });
    const seen: { a: RequestContext; b: RequestContext; before: unknown; joined: unknown; listeners: number }[] = [];
    const port = await listen((req, res) => {
      const before = first.contextOf(res);
      const a = first.start(req, res);
      const joined = second.contextOf(res);
      const b = second.start(req, res, 'another-id');
      seen.push({ a, b, before, joined, listeners: res.listenerCount('close') });
      res.end(b.traceId);
    });
    const [r1, r2] = await Promise.all([get(port), get(port)]);
    expect(seen).toHaveLength(2);
    for (const { a, b, before, joined } of seen) {
      expect(before).toBeUndefined();
      expect(joined).toBe(a);
      expect(b).toBe(a);
    }
    expect(seen[0]!.a).not.toBe(seen[1]!.a);
    expect(seen[0]!.listeners).toBe(seen[1]!.listeners); // the join added no close listener
    expect(new Set([r1.body, r2.body])).toEqual(new Set([seen[0]!.a.traceId, seen[1]!.a.traceId]));
    expect(r1.headers['request-id']).not.toBe('another-id');
  });
});

describe('the onClientLeft hook', () => {
  it('is told once, with the origin and the cancelled context, when the client left; never for an answered request', async () => {
    const left: [unknown, RequestContext][] = [];
    const start = compileHttpContext<{ n: number }>({}, { onClientLeft: (origin, ctx) => left.push([origin, ctx]) });
    const held = Promise.withResolvers<RequestContext>();
    let n = 0;
    const port = await listen((req, res) => {
      const ctx = start.start(req, res, undefined, undefined, { n: ++n });
      if (req.method === 'POST') held.resolve(ctx);
      else res.end('ok');
    });
    expect((await get(port)).body).toBe('ok');
    const req = request({ port, host: '127.0.0.1', method: 'POST', headers: { 'content-length': '1' } });
    req.on('error', () => {});
    req.write('x');
    const ctx = await held.promise;
    const reported = Promise.withResolvers<void>();
    ctx.signal.addEventListener('abort', () => setImmediate(reported.resolve));
    req.destroy();
    await reported.promise;
    expect(left).toEqual([[{ n: 2 }, ctx]]);
    expect(ctx.signal.reason).toBeInstanceOf(CancelledError);
  });
});

// Node 22 finishes such a reply on the dead socket; Node 24 does not: CI runs both.
describe('a reply written after the client left mid-body', () => {
  it('still counts as a disconnect', async () => {
    const start = compileHttpContext();
    const aborted = Promise.withResolvers<unknown>();
    const partialArrived = Promise.withResolvers<void>();
    const port = await listen((req, res) => {
      const ctx = start.start(req, res);
      ctx.signal.addEventListener('abort', () => aborted.resolve(ctx.signal.reason));
      req.once('data', () => partialArrived.resolve());
      req.on('error', () => {});
      req.on('aborted', () => {
        // What an error handler does with the parser's "request aborted": answer anyway.
        res.statusCode = 400;
        res.end('request aborted');
      });
      req.resume();
    });
    const req = request({ port, host: '127.0.0.1', method: 'POST', headers: { 'content-length': '100' } });
    req.on('error', () => {});
    req.write('partial');
    await partialArrived.promise;
    req.destroy();
    const reason = await Promise.race([
      aborted.promise,
      new Promise((_, rej) => setTimeout(() => rej(new Error('no abort within 2 s')), 2000).unref()),
    ]);
    expect(reason).toBeInstanceOf(CancelledError);
  });
});

describe('compileHttpContext on a response OpenTelemetry bound', () => {
  // OpenTelemetry's http instrumentation binds every request and response to its context
  // (`context.bind(ctx, res)`): their listener methods then wrap each listener added in a closure
  // entering that context on every emit. The real context manager, bound as the instrumentation does.
  it('still ends the context at close and cancels it on a disconnect, without the wrapper', async () => {
    const { AsyncLocalStorageContextManager } = await import('@opentelemetry/context-async-hooks');
    const { ROOT_CONTEXT } = await import('@opentelemetry/api');
    const manager = new AsyncLocalStorageContextManager().enable();
    try {
      const start = compileHttpContext({ defaultTimeoutMs: 5000 });
      const seen: { ctx: RequestContext; added: string[] }[] = [];
      const closed = Promise.withResolvers<void>();
      const hung = Promise.withResolvers<RequestContext>();
      const port = await listen((req, res) => {
        manager.bind(ROOT_CONTEXT, res);
        const before = res.listeners('close');
        const ctx = start.start(req, res);
        const added = res.listeners('close').filter((l) => !before.includes(l));
        seen.push({ ctx, added: added.map((l) => l.name) });
        res.on('close', () => closed.resolve()); // the app's own listeners still go through the manager
        if (req.url === '/hang') {
          hung.resolve(ctx); // never answered: the client gives up
          return;
        }
        res.end('ok');
      });
      expect((await get(port)).body).toBe('ok');
      await new Promise((r) => setImmediate(r));
      // The one listener registered is core's own function, not a closure made by the manager.
      expect(seen[0]!.added).toEqual(['onResponseClose']);
      expect(seen[0]!.ctx.signal.aborted).toBe(false); // ended, not cancelled

      const client = request({ port, host: '127.0.0.1', path: '/hang' });
      client.on('error', () => {});
      client.end();
      const ctx = await hung.promise;
      const aborted = once(ctx.signal, 'abort');
      client.destroy();
      await aborted;
      expect(ctx.signal.reason).toBeInstanceOf(CancelledError);
      await closed.promise;
    } finally {
      manager.disable();
    }
  });
});
