/**
 * Overload scenario, server processes: `node servers.ts downstream <bare|ctxkit> <slots> <queryMs>`
 * or `node servers.ts service|grpc-service <bare|ctxkit> <downstreamPort> <minBudgetMs>`.
 *
 * The downstream is a stand-in for a database behind a connection pool: `slots` queries at a
 * time, each holding its slot for `queryMs`, the others waiting in FIFO order.
 *
 * The service is the process under test: `GET /work` calls the downstream once and answers.
 * `bare` is Fastify and the global `fetch`; `ctxkit` is the same with the plugin, the route's
 * `minBudgetMs` and `ctxFetch`, so the caller's deadline and disconnect reach the downstream call.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { cpuMicros, failed, ready, serveCommands } from '../lib/ipc.ts';
import { deserializeJson, serializeJson, WORK_METHOD } from './wire.ts';

const [role, ...args] = process.argv.slice(2);

/** A FIFO pool of slots; a waiter whose signal aborts leaves the queue. */
class Pool {
  #free: number;
  readonly #queue: Array<{ grant: () => void; signal: AbortSignal }> = [];
  constructor(slots: number) {
    this.#free = slots;
  }
  get queued(): number {
    return this.#queue.length;
  }
  acquire(signal: AbortSignal): Promise<boolean> {
    if (this.#free > 0) {
      this.#free--;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const entry = { grant: () => resolve(true), signal };
      this.#queue.push(entry);
      signal.addEventListener(
        'abort',
        () => {
          const i = this.#queue.indexOf(entry);
          if (i >= 0) {
            this.#queue.splice(i, 1);
            resolve(false);
          }
        },
        { once: true },
      );
    });
  }
  release(): void {
    const next = this.#queue.shift();
    if (next === undefined) this.#free++;
    else next.grant();
  }
}

interface Started {
  readonly app: FastifyInstance;
  readonly stats: () => unknown;
  readonly refusals?: () => unknown;
}

/**
 * The downstream. `bare`: Fastify alone; a waiter leaves the queue, or a query stops, when its
 * caller hangs up (Fastify's `request.signal`), as a careful server does without ctxkit.
 * `ctxkit`: the same with the plugin, its budget from the caller's `request-timeout-ms`: the
 * route refuses a budget below the query time, a waiter leaves the queue when its context aborts
 * (deadline or hang-up), and a query that could no longer finish in time is not started.
 */
async function downstream(variant: string, slots: number, queryMs: number): Promise<Started> {
  const app = Fastify({ logger: false });
  const pool = new Pool(slots);
  const counts = { queries: 0, completed: 0, leftQueue: 0, stopped: 0, tooLate: 0, inFlight: 0 };
  const ctxkitOn = variant === 'ctxkit';
  if (ctxkitOn) {
    const { ctxkit } = await import('@ctxkit/fastify');
    await app.register(ctxkit, { trust: 'internal' });
  }
  app.get('/query', { config: ctxkitOn ? { minBudgetMs: queryMs } : {} }, async (request, reply) => {
    counts.queries++;
    counts.inFlight++;
    const signal = ctxkitOn ? request.ctx.signal : request.signal;
    try {
      if (!(await pool.acquire(signal))) {
        counts.leftQueue++;
        return reply.code(499).send();
      }
      try {
        // The slot is ours: a query that cannot finish before the caller's deadline is not begun.
        if (ctxkitOn && request.ctx.remainingMs() < queryMs) {
          counts.tooLate++;
          return reply.code(504).send();
        }
        const done = await new Promise<boolean>((resolve) => {
          const timer = setTimeout(resolve, queryMs, true);
          signal.addEventListener(
            'abort',
            () => {
              clearTimeout(timer);
              resolve(false);
            },
            { once: true },
          );
        });
        if (!done) {
          counts.stopped++;
          return reply.code(499).send();
        }
        counts.completed++;
        return { rows: 1 };
      } finally {
        pool.release();
      }
    } finally {
      counts.inFlight--;
    }
  });
  return { app, stats: () => ({ ...counts, queued: pool.queued }) };
}

async function service(variant: string, downstreamPort: number, minBudgetMs: number): Promise<Started> {
  const app = Fastify({ logger: false });
  const url = `http://127.0.0.1:${downstreamPort}/query`;
  const counts = { requests: 0, answered: 0 };
  // Server-side time (request start → answer written) of each 504, and of each answer of the
  // trivial /ping route, the baseline the refusal figure is read against.
  const refusalUs: number[] = [];
  const pingUs: number[] = [];
  app.addHook('onResponse', async (request, reply) => {
    counts.answered++;
    const into = reply.statusCode === 504 ? refusalUs : request.url === '/ping' ? pingUs : undefined;
    if (into !== undefined && into.length < 10_000) into.push(reply.elapsedTime * 1000);
  });
  if (variant === 'bare') {
    app.get('/work', async () => {
      counts.requests++;
      const res = await fetch(url);
      return res.json();
    });
  } else if (variant === 'ctxkit') {
    const { ctxkit, ctxkitErrorHandler } = await import('@ctxkit/fastify');
    const { ctxFetch } = await import('@ctxkit/core/fetch');
    // Budgets come from the clients' request-timeout-ms; the edge default would apply without one.
    await app.register(ctxkit, { defaultTimeoutMs: 1_000 });
    app.setErrorHandler(ctxkitErrorHandler);
    app.get('/work', { config: { minBudgetMs } }, async () => {
      counts.requests++;
      const res = await ctxFetch(url);
      return res.json();
    });
  } else {
    throw new Error(`unknown variant ${variant}`);
  }
  app.get('/ping', async () => ({ ok: true }));
  const { refusedRequests } = await import('@ctxkit/core/diagnostics');
  return { app, stats: () => ({ ...counts, refused: refusedRequests()['GET /work'] ?? 0 }), refusals: () => ({ refusalUs, pingUs }) };
}

/**
 * The same service over gRPC: `Do` calls the downstream once and answers. `bare` is grpc-js and
 * the global `fetch` (the call's deadline and cancellation are grpc-js's alone: the handler's
 * downstream call runs on); `ctxkit` adds `serverInterceptor` + `wrapService` with the method's
 * `minBudgetMs`, and `ctxFetch`.
 */
async function grpcService(
  variant: string,
  downstreamPort: number,
  minBudgetMs: number,
): Promise<{ port: number; close: () => Promise<void>; stats: () => unknown }> {
  const grpc = await import('@grpc/grpc-js');
  const url = `http://127.0.0.1:${downstreamPort}/query`;
  const counts = { requests: 0 };
  const definition = {
    do: {
      path: WORK_METHOD,
      requestStream: false,
      responseStream: false,
      requestSerialize: serializeJson,
      requestDeserialize: deserializeJson,
      responseSerialize: serializeJson,
      responseDeserialize: deserializeJson,
    },
  } satisfies import('@grpc/grpc-js').ServiceDefinition;
  let server: import('@grpc/grpc-js').Server;
  if (variant === 'bare') {
    server = new grpc.Server();
    server.addService(definition, {
      do(_call: unknown, callback: (e: Error | null, v?: unknown) => void) {
        counts.requests++;
        fetch(url)
          .then((res) => res.json())
          .then((v) => callback(null, v), (e: Error) => callback(e));
      },
    });
  } else if (variant === 'ctxkit') {
    const { serverInterceptor, wrapService } = await import('@ctxkit/grpc');
    const { ctxFetch } = await import('@ctxkit/core/fetch');
    server = new grpc.Server({ interceptors: [serverInterceptor()] });
    server.addService(
      definition,
      wrapService(
        {
          async do() {
            counts.requests++;
            const res = await ctxFetch(url);
            return res.json();
          },
        },
        { minBudgetMs: { do: minBudgetMs } },
      ),
    );
  } else {
    throw new Error(`unknown variant ${variant}`);
  }
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  const { refusedRequests } = await import('@ctxkit/core/diagnostics');
  return {
    port,
    close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
    stats: () => ({ ...counts, refused: refusedRequests()[WORK_METHOD] ?? 0 }),
  };
}

async function main(): Promise<void> {
  if (role === 'grpc-service') {
    const { port, close, stats } = await grpcService(args[0]!, Number(args[1]), Number(args[2]));
    serveCommands({ cpu: () => cpuMicros(), stats }, close);
    ready({ port });
    return;
  }
  const started =
    role === 'downstream'
      ? await downstream(args[0]!, Number(args[1]), Number(args[2]))
      : role === 'service'
        ? await service(args[0]!, Number(args[1]), Number(args[2]))
        : undefined;
  if (started === undefined) {
    throw new Error('usage: servers.ts downstream <variant> <slots> <queryMs> | service|grpc-service <variant> <port> <minBudgetMs>');
  }
  const { app, stats, refusals } = started;
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  serveCommands({ cpu: () => cpuMicros(), stats, refusals: refusals ?? (() => ({ refusalUs: [], pingUs: [] })) }, () => app.close());
  ready({ port: typeof address === 'object' && address !== null ? address.port : 0 });
}

main().catch(failed);
