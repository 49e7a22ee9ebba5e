import { once } from 'node:events';
import { createServer } from 'node:http';
import { describe, expect, it } from 'vitest';
import { createContext, currentContext, defineKey, detach, runWithContext, tryCurrentContext, withTimeout, withValues } from './index.js';
import { ctxFetch } from './fetch.js';

const tenant = defineKey('tenant-id');

describe('detach', () => {
  it('keeps ids, user and values; drops the deadline and cancellation', () => {
    const request = createContext({ userId: 'alice', values: { tenantId: 'acme' }, timeoutMs: 1000 });
    const detached = runWithContext(request, () => detach(() => currentContext()));
    expect(detached.traceId).toBe(request.traceId);
    expect(detached.requestId).toBe(request.requestId);
    expect(detached.userId).toBe('alice');
    expect(detached.get(tenant)).toBe('acme');
    expect(detached.deadline).toBeUndefined();
    expect(detached.remainingMs()).toBe(Number.POSITIVE_INFINITY);
    request.cancel();
    expect(request.signal.aborted).toBe(true);
    expect(detached.signal.aborted).toBe(false);
    request.end();
  });

  it('work started inside outlives the request that started it', async () => {
    let finishedAborted: boolean | undefined;
    let resume!: () => void;
    const resumed = new Promise<void>((resolve) => {
      resume = resolve;
    });
    let background!: Promise<void>;
    await withTimeout(50, async () => {
      background = detach(async () => {
        await resumed;
        finishedAborted = currentContext().signal.aborted;
      });
      const { signal } = currentContext();
      if (!signal.aborted) await once(signal, 'abort'); // the request times out (it may have already, on a loaded machine)
    });
    resume();
    await background;
    expect(finishedAborted).toBe(false);
  });

  it('children of a detached context get deadlines of their own again', () => {
    const request = createContext({ timeoutMs: 100 });
    const child = runWithContext(request, () => detach(() => withTimeout(60_000, () => currentContext())));
    expect(child.deadline! - Date.now()).toBeGreaterThan(50_000); // not capped by the request's 100 ms
    request.end();
  });

  it('values assigned to the request later do not leak into the detached copy', () => {
    const request = createContext();
    const detached = runWithContext(request, () => detach(() => currentContext()));
    request.assign({ userId: 'late' });
    expect(detached.userId).toBeUndefined();
    expect(detached.metadata.has('user-id')).toBe(false);
    request.end();
  });

  it('outside any request runs fn with no context', () => {
    expect(detach(() => tryCurrentContext())).toBeUndefined();
  });

  it('an outgoing call from detached work carries the ids and no budget', async () => {
    const server = createServer((req, res) => res.end(JSON.stringify(req.headers)));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as { port: number };
    try {
      const request = createContext({ userId: 'alice', timeoutMs: 5000 });
      const headers = await runWithContext(request, () =>
        withValues({ tenantId: 'acme' }, () => detach(async () => (await ctxFetch(`http://127.0.0.1:${port}/`)).json() as Promise<Record<string, string>>)),
      );
      expect(headers).toMatchObject({ 'trace-id': request.traceId, 'user-id': 'alice', 'tenant-id': 'acme' });
      expect(headers['request-timeout-ms']).toBeUndefined();
      request.end();
    } finally {
      server.close();
    }
  });
});
