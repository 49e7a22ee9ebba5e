/**
 * Scenario 5, the micro benchmarks, in their own process. Each benchmark is a loop written out
 * in full (no per-op closure call), calibrated once to last about one batch; the parent asks for
 * rounds, and every round times every benchmark once, so drifts hit all of them alike.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import {
  createContext,
  currentContext,
  defineKey,
  type OwnedContext,
  type RequestContext,
  runWithContext,
  tryCurrentContext,
  withTimeout,
} from '@ctxkit/core';
import { compileExtractor, injectContext, recordCarrier } from '@ctxkit/core/adapter';
import { failed, ready, serveCommands } from '../lib/ipc.ts';

/** One benchmark: runs `n` operations and returns something derived from them (kept, so not elided). */
interface Bench {
  readonly name: string;
  readonly description: string;
  readonly run: (n: number) => number;
}

const tenant = defineKey('tenant-id');
const raw = new AsyncLocalStorage<{ id: string }>();
const rawStore = { id: 'x' };

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
/** A typical request at the HTTP edge. */
const EDGE_HEADERS: Record<string, string> = {
  host: '127.0.0.1:3000',
  'user-agent': 'bench',
  accept: 'application/json',
  traceparent: TRACEPARENT,
  'x-request-id': '5f3c1b2a9d8e4f7a6b5c4d3e2f1a0b9c',
  'request-timeout-ms': '2000',
};
/** What an internal gRPC hop receives (read from metadata by the server side). */
const INTERNAL_MD: Record<string, string> = {
  'trace-id': '4bf92f3577b34da6a3ce929d0e0e4736',
  'request-id': '5f3c1b2a9d8e4f7a',
  'user-id': 'u-42',
  'tenant-id': 'acme',
};
const edge = compileExtractor({ trust: 'edge' });
const internal = compileExtractor({ trust: 'internal', timeoutHeader: false });
const sample = createContext({ userId: 'u-42', values: { [tenant.name]: 'acme' } });
/** A context extracted at the edge from a request that carried a `traceparent`. */
const received = edge(recordCarrier, EDGE_HEADERS);
const noop = () => 1;

const BENCHES: Bench[] = [
  {
    name: 'als-getStore',
    description: 'raw AsyncLocalStorage#getStore() inside run() (the floor)',
    run: (n) => raw.run(rawStore, () => {
      let k = 0;
      for (let i = 0; i < n; i++) if (raw.getStore() !== undefined) k++;
      return k;
    }),
  },
  {
    name: 'currentContext',
    description: 'currentContext() inside runWithContext()',
    run: (n) => runWithContext(sample, () => {
      let k = 0;
      for (let i = 0; i < n; i++) if (currentContext() !== undefined) k++;
      return k;
    }),
  },
  {
    name: 'tryCurrentContext',
    description: 'tryCurrentContext() inside runWithContext()',
    run: (n) => runWithContext(sample, () => {
      let k = 0;
      for (let i = 0; i < n; i++) if (tryCurrentContext() !== undefined) k++;
      return k;
    }),
  },
  {
    name: 'create+end',
    description: 'createContext({ timeoutMs: 5000 }) then end(); the deadline timer is not armed (signal never read)',
    run: (n) => {
      let k = 0;
      for (let i = 0; i < n; i++) {
        const c: OwnedContext = createContext({ timeoutMs: 5000 });
        k += c.traceId.length;
        c.end();
      }
      return k;
    },
  },
  {
    name: 'create+signal+end',
    description: 'createContext({ timeoutMs: 5000 }), read signal (arms the timer), end() (clears it)',
    run: (n) => {
      let k = 0;
      for (let i = 0; i < n; i++) {
        const c = createContext({ timeoutMs: 5000 });
        if (!c.signal.aborted) k++;
        c.end();
      }
      return k;
    },
  },
  {
    name: 'withTimeout',
    description: 'withTimeout(100, fn) child of a request context, synchronous fn',
    run: (n) => runWithContext(sample, () => {
      let k = 0;
      for (let i = 0; i < n; i++) k += withTimeout(100, noop);
      return k;
    }),
  },
  {
    name: 'extract-edge',
    description: 'compiled extractor, HTTP edge trust: traceparent, x-request-id, request-timeout-ms + 3 other headers',
    run: (n) => {
      let k = 0;
      for (let i = 0; i < n; i++) {
        const c = edge(recordCarrier, EDGE_HEADERS);
        k += c.traceId.length;
        c.end();
      }
      return k;
    },
  },
  {
    name: 'extract-internal',
    description: 'compiled extractor, internal trust: trace-id, request-id, user-id, tenant-id (gRPC metadata set)',
    run: (n) => {
      let k = 0;
      for (let i = 0; i < n; i++) {
        const c = internal(recordCarrier, INTERNAL_MD);
        k += c.metadata.size;
        c.end();
      }
      return k;
    },
  },
  {
    name: 'inject',
    description: 'injectContext() of trace-id, request-id, user-id, tenant-id into a plain object, and the traceparent ctxkit starts for the call (none was received: a new parent id per call)',
    run: (n) => {
      let k = 0;
      for (let i = 0; i < n; i++) {
        const out: Record<string, string> = {};
        injectContext(sample as RequestContext, recordCarrier, out);
        k += out['trace-id']!.length;
      }
      return k;
    },
  },
  {
    name: 'inject-forward',
    description: 'injectContext() of a context that received a traceparent (forwarded as received, W3C pass-through): trace-id, request-id, traceparent',
    run: (n) => {
      let k = 0;
      for (let i = 0; i < n; i++) {
        const out: Record<string, string> = {};
        injectContext(received, recordCarrier, out);
        k += out.traceparent!.length;
      }
      return k;
    },
  },
  {
    name: 'setTimeout+clearTimeout',
    description: 'reference: what one armed deadline costs in Node',
    run: (n) => {
      let k = 0;
      for (let i = 0; i < n; i++) {
        const t = setTimeout(noop, 5000);
        clearTimeout(t);
        k++;
      }
      return k;
    },
  },
];

let sink = 0;
const iterations = new Map<string, number>();

/** Sizes each benchmark to last about `batchMs` (after a warm-up pass). */
function calibrate(batchMs: number): Record<string, string> {
  for (const b of BENCHES) {
    let n = 1000;
    sink += b.run(n); // warm-up and first JIT
    for (;;) {
      const t = performance.now();
      sink += b.run(n);
      const ms = performance.now() - t;
      if (ms >= batchMs / 4 || n >= 1e9) {
        iterations.set(b.name, Math.max(1000, Math.round((n * batchMs) / Math.max(ms, 0.001))));
        break;
      }
      n *= 4;
    }
  }
  return Object.fromEntries(BENCHES.map((b) => [b.name, b.description]));
}

/** One round: every benchmark timed once, ns/op; order rotated by `round`. */
function round(index: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = 0; i < BENCHES.length; i++) {
    const b = BENCHES[(i + index) % BENCHES.length]!;
    const n = iterations.get(b.name)!;
    const t = process.hrtime.bigint();
    sink += b.run(n);
    out[b.name] = Number(process.hrtime.bigint() - t) / n;
  }
  return out;
}

try {
  serveCommands({
    calibrate: (p: { batchMs: number }) => calibrate(p.batchMs),
    round: (p: { index: number }) => round(p.index),
    sink: () => sink,
  });
  ready();
} catch (error) {
  failed(error);
}
