/**
 * The feature set ctxkit's HTTP edge provides, written by hand as cheaply as one can: the floor
 * any implementation of those features pays in Node (a lower bound, not an alternative to use).
 * A W3C trace id from a valid `traceparent` else a new one, a request id, the user id from a
 * header (where the ctxkit variant it stands beside resolves one), a 5 s deadline kept as a number (no timer), both ids echoed in reply headers, a
 * `close` listener that tells a client that left from a reply that ended, one store entered.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomFillSync } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** What each request's store holds. */
export interface HandStore {
  readonly traceId: string;
  readonly requestId: string;
  readonly userId: string | undefined;
  readonly deadline: number;
  left: boolean;
}

const TRACEPARENT = /^00-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/;
const BUDGET_MS = 5000;

/** The store and the per-request work, made once per server; `userHeader` names the user id's header, if any. */
export function featuresByHand(userHeader?: string): {
  readonly als: AsyncLocalStorage<HandStore>;
  /** Builds a request's store, echoes its ids through `echo` and watches the response's `close`. */
  start(req: IncomingMessage, res: ServerResponse, echo: (name: string, value: string) => void): HandStore;
} {
  const als = new AsyncLocalStorage<HandStore>();
  // Random bytes drawn in batches, as any id generator worth copying does.
  const pool = Buffer.allocUnsafe(64 * 1024);
  let offset = pool.length;
  const hex = (bytes: number): string => {
    if (offset + bytes > pool.length) {
      randomFillSync(pool);
      offset = 0;
    }
    offset += bytes;
    return pool.toString('hex', offset - bytes, offset);
  };
  function onClose(this: ServerResponse & { store?: HandStore }): void {
    if (!this.writableEnded && this.store !== undefined) this.store.left = true;
  }
  return {
    als,
    start(req, res, echo) {
      const tp = req.headers.traceparent;
      const match = typeof tp === 'string' ? TRACEPARENT.exec(tp) : null;
      const user = userHeader === undefined ? undefined : req.headers[userHeader];
      const store: HandStore = {
        traceId: match === null ? hex(16) : match[1]!,
        requestId: hex(8),
        userId: typeof user === 'string' ? user : undefined,
        deadline: Date.now() + BUDGET_MS,
        left: false,
      };
      echo('trace-id', store.traceId);
      echo('request-id', store.requestId);
      (res as ServerResponse & { store?: HandStore }).store = store;
      res.on('close', onClose);
      return store;
    },
  };
}
