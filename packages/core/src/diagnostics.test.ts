import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { afterEach, describe, expect, it } from 'vitest';
import { compileExtractor, recordCarrier } from './adapter.js';
import { dropChannel } from './diagnostics.js';
import { DROP_CHANNEL, type DropMessage, MISSING_CONTEXT_CHANNEL, type MissingContextMessage } from './diagnostics-entry.js';
import { createFetch } from './fetch-entry.js';

const subscribed: Array<[string, (message: unknown) => void]> = [];
function listen<T>(name: string): T[] {
  const seen: T[] = [];
  const fn = (message: unknown) => seen.push(message as T);
  subscribe(name, fn);
  subscribed.push([name, fn]);
  return seen;
}
afterEach(() => {
  for (const [name, fn] of subscribed.splice(0)) unsubscribe(name, fn);
});

describe('diagnostics channels', () => {
  it('ctxkit:drop publishes every drop with its ids and origin, beside the onDrop handler', () => {
    const seen = listen<DropMessage>(DROP_CHANNEL);
    const handled: string[] = [];
    const extract = compileExtractor<{ url: string }>({ trust: 'internal', onDrop: (drop) => handled.push(drop.key) });
    const origin = { url: '/x' };
    const ctx = extract(recordCarrier, { 'user-id': 'a,b', traceparent: 'nope' }, { origin });
    expect(handled.sort()).toEqual(['traceparent', 'user-id']);
    expect(seen.map((m) => m.drop.key).sort()).toEqual(['traceparent', 'user-id']);
    for (const m of seen) {
      expect(m.origin).toBe(origin);
      expect(m.drop).toMatchObject({ traceId: ctx.traceId, requestId: ctx.requestId });
      expect(typeof m.drop.reason).toBe('string');
    }
  });

  it('ctxkit:missing-context publishes a lost context with its call site, even in ignore mode', async () => {
    const seen = listen<MissingContextMessage>(MISSING_CONTEXT_CHANNEL);
    // Adapters as users meet them: fetches made outside any context.
    const noFetch = () => Promise.resolve(new Response(null));
    await createFetch({ missingContext: 'ignore', fetch: noFetch })('http://127.0.0.1:9/');
    await expect(createFetch({ missingContext: 'throw', fetch: noFetch })('http://127.0.0.1:9/')).rejects.toThrow();
    expect(seen).toHaveLength(2);
    expect(seen[0]).toMatchObject({ mode: 'ignore' });
    expect(seen[0]!.site).toMatch(/diagnostics\.test\.ts:\d+/);
    expect(seen[1]).toMatchObject({ mode: 'throw' });
    expect(seen[1]!.what).toBe(seen[0]!.what);
  });

  it('costs a hasSubscribers check when nobody listens: nothing is published', () => {
    expect(dropChannel.hasSubscribers).toBe(false);
    const extract = compileExtractor({ trust: 'internal', onDrop: () => undefined });
    // No subscriber, no message: a subscriber added afterwards sees nothing of it.
    extract(recordCarrier, { 'user-id': 'a,b' });
    const seen = listen<DropMessage>(DROP_CHANNEL);
    expect(seen).toEqual([]);
    extract(recordCarrier, { 'user-id': 'a,b' });
    expect(seen).toHaveLength(1);
  });
});
