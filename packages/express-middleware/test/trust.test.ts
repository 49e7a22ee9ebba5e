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

  it("trusts a peer's declared keys, user id and request id by default (internal services)", async () => {
    const port = await serve();
    const answer = await call(port, '/', { headers });
    expect(answer.json()).toEqual({ tenant: 'acme', user: 'u-9', requestId: 'req-from-peer' });
    expect(answer.headers['request-id']).toBe('req-from-peer');
  });

  it("trust: 'edge' ignores them: only the trace id is taken from a client", async () => {
    const port = await serve({ trust: 'edge' });
    const answer = await call(port, '/', { headers });
    const body = answer.json();
    expect(body).toMatchObject({ tenant: null, user: null });
    expect(body.requestId).not.toBe('req-from-peer');
    expect(answer.headers['trace-id']).toBe(traceIdOf(7));
  });

  it('a trust rule honours the listed keys from the listed peers only', async () => {
    const fromLoopback = await serve({ trust: { keys: [tenantId], from: ['127.0.0.1'] } });
    expect((await call(fromLoopback, '/', { headers })).json()).toMatchObject({ tenant: 'acme', user: null });
    const fromElsewhere = await serve({ trust: { keys: [tenantId], from: ['10.9.9.9'] } });
    expect((await call(fromElsewhere, '/', { headers })).json()).toMatchObject({ tenant: null, user: null });
  });
});
