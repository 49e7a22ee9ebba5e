import { bindContext, createContext, type RequestContext, runWithContext, tryCurrentContext } from '@ctxkit/core';
import { defer, firstValueFrom, of, shareReplay, Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';

// The caveats the README documents, as rxjs behaves: rxjs itself schedules nothing, so a
// subscriber runs in the context of whoever pushes the value.
describe('rxjs and the request context', () => {
  it('a shared Subject runs its subscribers in the publisher context; bindContext keeps the subscriber one', () => {
    const events = new Subject<string>();
    const a = createContext();
    const b = createContext();
    const plain: (RequestContext | undefined)[] = [];
    const bound: (RequestContext | undefined)[] = [];
    runWithContext(a, () => {
      events.subscribe(() => plain.push(tryCurrentContext()));
      events.subscribe(bindContext(() => bound.push(tryCurrentContext())));
    });
    runWithContext(b, () => events.next('from b'));
    expect(plain).toEqual([b]);
    expect(bound).toEqual([a]);
  });

  it('a module-level shareReplay keeps the first subscriber context; a source bound outside any request runs in none', async () => {
    const seen = () => of(tryCurrentContext());
    const shared = defer(seen).pipe(shareReplay(1));
    const unbound = defer(bindContext(seen)).pipe(shareReplay(1)); // bound where no request runs
    const first = createContext();
    const second = createContext();
    await runWithContext(first, () => firstValueFrom(shared));
    expect(await runWithContext(second, () => firstValueFrom(shared))).toBe(first);
    await runWithContext(first, () => firstValueFrom(unbound));
    expect(await runWithContext(second, () => firstValueFrom(unbound))).toBeUndefined();
  });
});
