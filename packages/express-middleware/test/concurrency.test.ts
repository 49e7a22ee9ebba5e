import { setImmediate as tick } from 'node:timers/promises';
import { currentContext, tryCurrentContext } from '@ctxkit/core';
import type { NextFunction, Request, Response } from 'express';
import { Agent, request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { ctxkit } from '../src/index.js';
import { closeAll, listen, majors, traceIdOf } from './helpers.js';

afterEach(closeAll);

const REQUESTS = 1000;

/** Awaits a random mix of timers, immediates and microtasks, so requests interleave. */
async function wander(): Promise<void> {
  const steps = 1 + Math.floor(Math.random() * 3);
  for (let i = 0; i < steps; i++) {
    const r = Math.random();
    if (r < 0.4) await new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * 4)));
    else if (r < 0.7) await tick();
    else await Promise.resolve();
  }
}

function seen(): string {
  return tryCurrentContext()?.traceId ?? 'none';
}

/** Reads the body with stream listeners, as multer or a hand-written parser would. */
function streamReader(req: Request, res: Response, next: NextFunction): void {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    res.locals.streamed = { at: seen(), body: JSON.parse(Buffer.concat(chunks).toString('utf8')) };
    next();
  });
}

describe.each(majors)('%s', (_name, express) => {
  it(`${REQUESTS} concurrent requests (GET, JSON and streamed POSTs) each see only their own context`, async () => {
    const app = express();
    app.use(ctxkit());
    app.use(async (_req, res, next) => {
      await wander();
      res.locals.before = seen();
      next();
    });
    const answer = async (req: Request, res: Response) => {
      const first = seen();
      await wander();
      res.json({
        before: res.locals.before,
        first,
        after: seen(),
        ctx: req.ctx.traceId,
        same: req.ctx === currentContext(),
        body: req.body ?? res.locals.streamed?.body ?? null,
        streamedAt: res.locals.streamed?.at ?? null,
      });
    };
    app.get('/get', answer);
    app.post('/json', express.json(), answer);
    app.post('/stream', streamReader, answer);
    const { port } = await listen(app);

    const agent = new Agent({ connections: REQUESTS, pipelining: 0 });
    try {
      const results = await Promise.all(
        Array.from({ length: REQUESTS }, async (_, i) => {
          const id = traceIdOf(i + 1);
          const kind = i % 3;
          const path = kind === 0 ? '/get' : kind === 1 ? '/json' : '/stream';
          const payload = kind === 0 ? undefined : JSON.stringify({ i, pad: 'x'.repeat(i * 37) });
          const r = await request(`http://127.0.0.1:${port}${path}`, {
            dispatcher: agent,
            method: kind === 0 ? 'GET' : 'POST',
            headers: { 'trace-id': id, 'content-type': 'application/json' },
            body: payload,
          });
          return { i, id, kind, status: r.statusCode, echo: r.headers['trace-id'], json: (await r.body.json()) as any };
        }),
      );
      for (const { i, id, kind, status, echo, json } of results) {
        expect(status).toBe(200);
        expect(echo).toBe(id);
        const want = { before: id, first: id, after: id, ctx: id, same: true };
        expect(json).toMatchObject(want);
        if (kind === 0) expect(json.body).toBeNull();
        else expect(json.body).toEqual({ i, pad: 'x'.repeat(i * 37) });
        expect(json.streamedAt).toBe(kind === 2 ? id : null);
      }
    } finally {
      await agent.close();
    }
  }, 60_000);
});
