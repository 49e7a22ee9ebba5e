import { currentContext, defineKey } from '@ctxkit/core';
import { afterEach, describe, expect, it } from 'vitest';
import { ctxkit, type CtxkitExpressOptions } from '../src/index.js';
import { call, closeAll, listen, majors, traceIdOf } from './helpers.js';

afterEach(closeAll);

const tenantId = defineKey<string>('tenant-id');

describe.each(majors)('%s', (_name, express) => {
  async function serve(options?: CtxkitExpressOptions) {
    const app = express();
    app.use(ctxkit(options));
    app.get('/', (_req, res) => {
      const ctx = currentContext();
      res.json({ tenant: ctx.get(tenantId) ?? null, user: ctx.userId ?? null, requestId: ctx.requestId });
    });
    return (await listen(app)).port;
  }
  const headers = { 'trace-id': traceIdOf(7), 'tenant-id': 'acme', 'user-id': 'u-9', 'request-id': 'req-from-peer' };

  it("refuses a client's user id, request id and declared keys by default (the edge rule)", async () => {
    const port = await serve();
    const answer = await call(port, '/', { headers: { ...headers, 'user-id': 'admin', 'request-id': 'attacker-chosen' } });
    const body = answer.json();
    expect(body).toMatchObject({ tenant: null, user: null });
    expect(body.requestId).not.toBe('attacker-chosen');
    expect(answer.headers['request-id']).toBe(body.requestId);
    expect(answer.headers['trace-id']).toBe(traceIdOf(7)); // trace ids are honoured at the edge
  });

  it("trust: 'edge' says the default out loud", async () => {
    const port = await serve({ trust: 'edge' });
    const answer = await call(port, '/', { headers });
    const body = answer.json();
    expect(body).toMatchObject({ tenant: null, user: null });
    expect(body.requestId).not.toBe('req-from-peer');
    expect(answer.headers['trace-id']).toBe(traceIdOf(7));
  });

  it("trust: 'internal' takes a peer's declared keys, user id and request id", async () => {
    const port = await serve({ trust: 'internal' });
    const answer = await call(port, '/', { headers });
    expect(answer.json()).toEqual({ tenant: 'acme', user: 'u-9', requestId: 'req-from-peer' });
    expect(answer.headers['request-id']).toBe('req-from-peer');
  });

  it('a trust rule honours the listed keys from the listed peers only', async () => {
    const fromLoopback = await serve({ trust: { keys: [tenantId], from: ['127.0.0.1'] } });
    expect((await call(fromLoopback, '/', { headers })).json()).toMatchObject({ tenant: 'acme', user: null });
    const fromElsewhere = await serve({ trust: { keys: [tenantId], from: ['10.9.9.9'] } });
    expect((await call(fromElsewhere, '/', { headers })).json()).toMatchObject({ tenant: null, user: null });
  });
});
