import { Readable } from 'node:stream';
import { tryCurrentContext } from '@ctxkit/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { call, closeAll, listen, makeApp } from './helpers.js';

afterEach(closeAll);

type Seen = Record<string, string | undefined>;

/** Records, per context request id, which context each hook saw (after an await, to cover continuations). */
function recordHooks(app: FastifyInstance, seen: Map<string, Seen>): void {
  const note = (request: FastifyRequest, hook: string) => {
    const entry = seen.get(request.ctx.requestId) ?? {};
    entry[hook] = tryCurrentContext()?.requestId;
    seen.set(request.ctx.requestId, entry);
  };
  const tick = () => new Promise<void>((r) => setImmediate(r));
  app.addHook('onRequest', async (request) => {
    note(request, 'onRequest');
  });
  app.addHook('preParsing', async (request, _reply, payload) => {
    await tick();
    note(request, 'preParsing');
    return payload;
  });
  app.addHook('preValidation', async (request) => {
    await tick();
    note(request, 'preValidation');
  });
  app.addHook('preHandler', async (request) => {
    await tick();
    note(request, 'preHandler');
  });
  app.addHook('preSerialization', async (request, _reply, payload) => {
    await tick();
    note(request, 'preSerialization');
    return payload;
  });
  app.addHook('onSend', async (request, _reply, payload) => {
    await tick();
    note(request, 'onSend');
    return payload;
  });
  app.addHook('onError', async (request) => {
    note(request, 'onError');
  });
  app.addHook('onResponse', async (request) => {
    note(request, 'onResponse');
  });
}

async function settle(seen: Map<string, Seen>, id: string, hook: string): Promise<Seen> {
  for (let i = 0; i < 200 && seen.get(id)?.[hook] === undefined; i++) await new Promise((r) => setTimeout(r, 5));
  return seen.get(id)!;
}

describe('the context is current in every hook', () => {
  it('on a GET, from onRequest to onResponse', async () => {
    const seen = new Map<string, Seen>();
    const { app } = await makeApp();
    recordHooks(app, seen);
    app.get('/x', async (request) => {
      await new Promise((r) => setTimeout(r, 1));
      seen.get(request.ctx.requestId)!.handler = tryCurrentContext()?.requestId;
      return { ok: true };
    });
    const port = await listen(app);
    const res = await call(port, '/x');
    expect(res.status).toBe(200);
    const id = res.headers['request-id'] as string;
    const entry = await settle(seen, id, 'onResponse');
    expect(entry).toEqual({
      onRequest: id, preParsing: id, preValidation: id, preHandler: id, handler: id,
      preSerialization: id, onSend: id, onResponse: id,
    });
  });

  it('on a POST with a JSON body, after the body parser resumed from stream events', async () => {
    const seen = new Map<string, Seen>();
    const { app } = await makeApp();
    recordHooks(app, seen);
    app.post('/echo', async (request) => {
      seen.get(request.ctx.requestId)!.handler = tryCurrentContext()?.requestId;
      return { got: request.body };
    });
    const port = await listen(app);
    const body = JSON.stringify({ big: 'x'.repeat(200_000) }); // several chunks
    const res = await call(port, '/echo', { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expect(res.status).toBe(200);
    expect(res.json().got.big).toHaveLength(200_000);
    const id = res.headers['request-id'] as string;
    const entry = await settle(seen, id, 'onResponse');
    expect(entry).toEqual({
      onRequest: id, preParsing: id, preValidation: id, preHandler: id, handler: id,
      preSerialization: id, onSend: id, onResponse: id,
    });
  });

  it('in onError when the handler throws', async () => {
    const seen = new Map<string, Seen>();
    const { app } = await makeApp();
    recordHooks(app, seen);
    app.post('/fail', async () => {
      await new Promise((r) => setTimeout(r, 1));
      throw new Error('boom');
    });
    const port = await listen(app);
    const res = await call(port, '/fail', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}' });
    expect(res.status).toBe(500);
    const id = res.headers['request-id'] as string;
    const entry = await settle(seen, id, 'onResponse');
    expect(entry.onError).toBe(id);
    expect(entry.onSend).toBe(id);
    expect(entry.onResponse).toBe(id);
  });

  it('in a streamed reply body, read after the handler returned', async () => {
    const { app } = await makeApp();
    app.get('/stream', async () => {
      let n = 0;
      return new Readable({
        read() {
          // Each chunk says which request it was produced for.
          setTimeout(() => this.push(n++ < 3 ? `${tryCurrentContext()?.requestId};` : null), 1);
        },
      });
    });
    const port = await listen(app);
    const res = await call(port, '/stream');
    const id = res.headers['request-id'] as string;
    expect(res.body).toBe(`${id};${id};${id};`);
  });

  it("request.ctx is the context; its request id is random, not Fastify's per-process request.id", async () => {
    const { app } = await makeApp();
    app.get('/id', async (request) => ({ same: request.ctx === tryCurrentContext(), id: request.id, ctxId: request.ctx.requestId }));
    const port = await listen(app);
    const [a, b] = [await call(port, '/id'), await call(port, '/id')].map((res) => ({ ...res.json(), header: res.headers['request-id'] }));
    expect(a.same).toBe(true);
    // Fastify's own ids (its logs' reqId) stay as Fastify made them: a counter, the same in
    // every replica. The chain's request id leaves the process, so it is random.
    expect([a.id, b.id]).toEqual(['req-1', 'req-2']);
    for (const r of [a, b]) {
      expect(r.ctxId).toMatch(/^[0-9a-f]{16}$/);
      expect(r.header).toBe(r.ctxId);
    }
    expect(a.ctxId).not.toBe(b.ctxId);
  });
});

describe('a hook that resumes from a callback that lost the context', () => {
  let timer: NodeJS.Timeout | undefined;
  afterEach(() => clearInterval(timer));

  it('is repaired at preValidation: the handler still runs in the request context', async () => {
    // A callback-based "pool" whose worker loop was started outside any request.
    const queue: Array<() => void> = [];
    timer = setInterval(() => queue.shift()?.(), 1);
    const { app } = await makeApp();
    const seen: Record<string, unknown> = {};
    app.addHook('preParsing', (_request, _reply, payload, done) => {
      queue.push(() => {
        seen.inPool = tryCurrentContext();
        done(null, payload);
      });
    });
    app.post('/p', async (request) => {
      seen.handler = tryCurrentContext()?.requestId;
      return { id: request.ctx.requestId };
    });
    const port = await listen(app);
    const res = await call(port, '/p', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}' });
    expect(res.status).toBe(200);
    expect(seen.inPool).toBeUndefined(); // the pool lost it...
    expect(seen.handler).toBe(res.json().id); // ...and the plugin restored it
  });
});
