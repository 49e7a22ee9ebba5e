import { setImmediate as tick } from 'node:timers/promises';
import { currentContext, tryCurrentContext } from '@ctxkit/core';
import express5, { type NextFunction, type Request, type Response } from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { ctxkit, ctxkitErrorHandler } from '../src/index.js';
import { call, closeAll, listen, majors, traceIdOf } from './helpers.js';

afterEach(closeAll);

/** Records which trace id is current at a point of the chain, or `'none'`. */
function mark(res: Response, where: string): void {
  res.locals.seen ??= {};
  const seen = res.locals.seen as Record<string, string>;
  seen[where] = tryCurrentContext()?.traceId ?? 'none';
}

function reply(req: Request, res: Response): void {
  mark(res, 'handler');
  res.json({ seen: res.locals.seen, same: req.ctx === currentContext() });
}

/** A hand-written body reader, as multer and busboy do: listeners on the request stream. */
function streamReader(req: Request, res: Response, next: NextFunction): void {
  let bytes = 0;
  req.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
    mark(res, 'data');
  });
  req.on('end', () => {
    mark(res, 'end');
    res.locals.bytes = bytes;
    next();
  });
}

describe.each(majors)('%s', (_name, express) => {
  const id = traceIdOf(0xabc);
  const headers = { 'trace-id': id };

  it('later middleware, routers and the handler run in the context; ids are echoed', async () => {
    const app = express();
    app.use(ctxkit());
    app.use((_req, res, next) => {
      mark(res, 'middleware');
      next();
    });
    const router = express.Router();
    router.use((_req, res, next) => {
      mark(res, 'router');
      setTimeout(next, 1); // a timer keeps the context too
    });
    router.get('/x', reply);
    app.use('/r', router);
    const { port } = await listen(app);

    const answer = await call(port, '/r/x', { headers });
    expect(answer.json()).toEqual({ seen: { middleware: id, router: id, handler: id }, same: true });
    expect(answer.headers['trace-id']).toBe(id);
    expect(answer.headers['request-id']).toMatch(/^[0-9a-f]{16}$/);
  });

  it('every body parser, its verify callback and what follows it', async () => {
    const app = express();
    app.use(ctxkit());
    const verify = (_req: Request, res: Response) => mark(res, 'verify');
    app.post('/json', express.json({ verify }), reply);
    app.post('/form', express.urlencoded({ extended: false, verify }), reply);
    app.post('/raw', express.raw({ verify }), reply);
    app.post('/text', express.text({ verify }), reply);
    const { port } = await listen(app);

    for (const [path, type, body] of [
      ['/json', 'application/json', JSON.stringify({ a: 'x'.repeat(100_000) })],
      ['/form', 'application/x-www-form-urlencoded', `a=${'x'.repeat(100_000)}`],
      ['/raw', 'application/octet-stream', 'x'.repeat(50_000)],
      ['/text', 'text/plain', 'x'.repeat(50_000)],
    ] as const) {
      const answer = await call(port, path, { method: 'POST', headers: { ...headers, 'content-type': type }, body });
      expect(answer.json(), path).toEqual({ seen: { verify: id, handler: id }, same: true });
    }
  });

  it('listeners on the request stream, and the chain they resume, keep the context', async () => {
    const app = express();
    app.use(ctxkit());
    app.post('/stream', streamReader, reply);
    const { port } = await listen(app);

    // 200 KB arrive in several socket reads, each emitted from a socket callback.
    const body = Buffer.alloc(200_000, 'x');
    const answer = await call(port, '/stream', { method: 'POST', headers, body });
    expect(answer.json()).toEqual({ seen: { data: id, end: id, handler: id }, same: true });
  });

  it('error middleware reached from a stream callback runs in the context', async () => {
    const app = express();
    app.use(ctxkit());
    app.post('/fail', (req, _res, next) => {
      req.on('data', () => {});
      req.on('end', () => next(new Error('boom')));
    });
    app.use((_err: unknown, req: Request, res: Response, _next: NextFunction) => {
      mark(res, 'error middleware');
      res.status(500).json({ seen: res.locals.seen, same: req.ctx === currentContext() });
    });
    const { port } = await listen(app);

    const answer = await call(port, '/fail', { method: 'POST', headers, body: 'x'.repeat(70_000) });
    expect(answer.status).toBe(500);
    expect(answer.json()).toEqual({ seen: { 'error middleware': id }, same: true });
  });

  it('response listeners (finish, close) run in the context', async () => {
    const app = express();
    app.use(ctxkit());
    const seen: string[] = [];
    const done = new Promise<void>((resolve) => {
      app.get('/', (_req, res) => {
        res.on('finish', () => seen.push(`finish ${tryCurrentContext()?.traceId ?? 'none'}`));
        res.on('close', () => {
          seen.push(`close ${tryCurrentContext()?.traceId ?? 'none'}`);
          resolve();
        });
        // Large enough that the socket drains later: 'finish' comes from a socket callback.
        res.end(Buffer.alloc(4_000_000));
      });
    });
    const { port } = await listen(app);

    await call(port, '/', { headers });
    await done;
    expect(seen).toEqual([`finish ${id}`, `close ${id}`]);
  });

  it('awaits in a handler keep the context', async () => {
    const app = express();
    app.use(ctxkit());
    app.get('/', async (req, res) => {
      await tick();
      await new Promise((r) => setTimeout(r, 2));
      reply(req, res);
    });
    const { port } = await listen(app);
    expect((await call(port, '/', { headers })).json()).toEqual({ seen: { handler: id }, same: true });
  });

  it('a second ctxkit() (a sub-app with its own) re-enters the first context', async () => {
    const sub = express();
    sub.use(ctxkit());
    sub.get('/x', (req, res) => res.json({ requestId: req.ctx.requestId, current: currentContext().requestId }));
    const app = express();
    app.use(ctxkit());
    app.use('/sub', sub);
    const { port } = await listen(app);

    const answer = await call(port, '/sub/x', { headers });
    const body = answer.json();
    expect(body.requestId).toBe(answer.headers['request-id']);
    expect(body.current).toBe(body.requestId);
  });

  describe('resolveUser', () => {
    async function serve(resolveUser: (req: Request) => string | undefined | Promise<string | undefined>) {
      const app = express();
      app.use(ctxkit({ trust: 'edge', resolveUser }));
      app.get('/', (req, res) => res.json({ userId: currentContext().userId ?? null, same: req.ctx === currentContext() }));
      app.use(ctxkitErrorHandler({ logger: false }));
      return (await listen(app)).port;
    }

    it('sets the user id, synchronously or after awaits, inside the context', async () => {
      const port = await serve((req) => {
        expect(tryCurrentContext()?.traceId).toBe(id);
        return req.get('x-user');
      });
      expect((await call(port, '/', { headers: { ...headers, 'x-user': 'u-1' } })).json()).toEqual({ userId: 'u-1', same: true });
      expect((await call(port, '/', { headers })).json()).toEqual({ userId: null, same: true });

      const asyncPort = await serve(async (req) => {
        await tick();
        return req.get('x-user');
      });
      expect((await call(asyncPort, '/', { headers: { 'x-user': 'u-2' } })).json()).toEqual({ userId: 'u-2', same: true });
    });

    it('a failing resolver or an id that cannot go on the wire fails the request, leaking nothing', async () => {
      const throwing = await serve(() => {
        throw new Error('token store password=hunter2');
      });
      const rejecting = await serve(async () => {
        throw new Error('token store password=hunter2');
      });
      const invalid = await serve(() => 'has space, and comma');
      for (const port of [throwing, rejecting, invalid]) {
        const answer = await call(port, '/', { headers });
        expect(answer.status).toBe(500);
        expect(answer.json()).toEqual({ code: 'INTERNAL', message: 'internal error', traceId: id });
      }
    });
  });
});

describe('express 5', () => {
  it('a rejected async handler reaches error middleware in the context', async () => {
    const id = traceIdOf(0xdef);
    const app = express5();
    app.use(ctxkit());
    app.use(express5.json());
    app.post('/', async () => {
      await new Promise((r) => setTimeout(r, 2));
      throw new Error('async failure');
    });
    app.use((_err: unknown, req: Request, res: Response, _next: NextFunction) => {
      res.status(500).json({ traceId: tryCurrentContext()?.traceId, same: req.ctx === currentContext() });
    });
    const { port } = await listen(app);

    const answer = await call(port, '/', {
      method: 'POST',
      headers: { 'trace-id': id, 'content-type': 'application/json' },
      body: '{"a":1}',
    });
    expect(answer.json()).toEqual({ traceId: id, same: true });
  });
});
