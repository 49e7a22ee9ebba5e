import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from '../test/fetch/server.js';
import { createContext, runWithContext } from './index.js';
import { ctxFetch } from './fetch.js';

// Two servers: two origins (another port is another origin).
let home: TestServer;
let elsewhere: TestServer;

beforeAll(async () => {
  [home, elsewhere] = await Promise.all([startServer(), startServer()]);
});
afterAll(async () => {
  await Promise.all([home.close(), elsewhere.close()]);
});
afterEach(() => {
  home.seen.length = 0;
  elsewhere.seen.length = 0;
});

const CONTEXT_HEADERS = ['trace-id', 'request-id', 'user-id', 'request-timeout-ms'];
const to = (status: number, target: string) => `${home.url}/redirect/${status}?to=${encodeURIComponent(target)}`;

function inContext<T>(fn: () => Promise<T>): Promise<T> {
  const ctx = createContext({ userId: 'u-7', timeoutMs: 60_000 });
  return runWithContext(ctx, fn).finally(() => ctx.end());
}

describe('redirects', () => {
  it("a redirect to another origin carries the caller's headers, never the context's", async () => {
    const res = await inContext(() =>
      ctxFetch(to(302, `${elsewhere.url}/echo`), { headers: { 'x-own': 'kept', authorization: 'Bearer secret', cookie: 'a=1' } }),
    );
    expect(res.status).toBe(200);
    expect(res.redirected).toBe(true);
    expect(res.url).toBe(`${elsewhere.url}/echo`);
    const arrived = (await res.json()) as Record<string, string>;
    expect(arrived['x-own']).toBe('kept');
    for (const name of [...CONTEXT_HEADERS, 'authorization', 'cookie']) expect(arrived[name], name).toBeUndefined();
    // The first hop, on the origin asked for, had them all.
    for (const name of CONTEXT_HEADERS) expect(home.seen[0]!.headers[name], name).toBeDefined();
  });

  it('a redirect on the same origin carries the context again, with the budget left', async () => {
    const res = await inContext(() => ctxFetch(to(307, '/echo')));
    const arrived = (await res.json()) as Record<string, string>;
    expect(res.redirected).toBe(true);
    expect(arrived['user-id']).toBe('u-7');
    expect(arrived['trace-id']).toBe(home.seen[0]!.headers['trace-id']);
    expect(Number(arrived['request-timeout-ms'])).toBeLessThanOrEqual(Number(home.seen[0]!.headers['request-timeout-ms']));
    expect(home.seen.map((s) => s.path)).toEqual([`/redirect/307?to=${encodeURIComponent('/echo')}`, '/echo']);
  });

  it('changes methods and bodies as fetch does: 303 and a POST on 302 become GET; 307 and 308 send the body again', async () => {
    const post = (status: number) =>
      inContext(async () => {
        const res = await ctxFetch(to(status, `${elsewhere.url}/method`), {
          method: 'POST',
          body: '{"a":1}',
          headers: { 'content-type': 'application/json' },
        });
        return (await res.json()) as { method: string; body: string; headers: Record<string, string> };
      });
    for (const status of [302, 303]) {
      const got = await post(status);
      expect([status, got.method, got.body, got.headers['content-type']]).toEqual([status, 'GET', '', undefined]);
    }
    for (const status of [307, 308]) {
      const got = await post(status);
      expect([status, got.method, got.body, got.headers['content-type']]).toEqual([status, 'POST', '{"a":1}', 'application/json']);
    }
  });

  it("leaves redirects alone when the caller asks for 'manual' or 'error'", async () => {
    const manual = await inContext(() => ctxFetch(to(302, `${elsewhere.url}/echo`), { redirect: 'manual' }));
    expect(manual.status).toBe(302);
    expect(manual.headers.get('location')).toBe(`${elsewhere.url}/echo`);
    await manual.body?.cancel();
    await expect(inContext(() => ctxFetch(to(302, `${elsewhere.url}/echo`), { redirect: 'error' }))).rejects.toThrow(TypeError);
    expect(elsewhere.seen).toEqual([]);
  });

  it('fails as fetch does: a redirect loop, a non-HTTP target, a streamed body to send again', async () => {
    const loop = inContext(() => ctxFetch(`${home.url}/loop`));
    await expect(loop).rejects.toMatchObject({ name: 'TypeError', cause: { message: 'redirect count exceeded' } });
    expect(home.seen).toHaveLength(21); // the first request and 20 redirects, as fetch allows
    const scheme = inContext(() => ctxFetch(to(302, 'file:///etc/passwd')));
    await expect(scheme).rejects.toMatchObject({ name: 'TypeError', cause: { message: 'URL scheme must be a HTTP(S) scheme' } });
    const stream = inContext(() =>
      ctxFetch(to(307, '/method'), { method: 'POST', body: new Blob(['x']).stream(), duplex: 'half' } as RequestInit),
    );
    await expect(stream).rejects.toMatchObject({ name: 'TypeError', cause: { message: 'cannot follow a redirect with a streamed body' } });
  });
});
