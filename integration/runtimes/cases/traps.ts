/**
 * The traps of issue 22, twice: as probes of what the runtime itself does with a bare
 * AsyncLocalStorage (reported, not judged: this is where runtimes differ), and as cases of what
 * ctxkit guarantees there (judged on every runtime).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import http from 'node:http';
import { Readable, finished } from 'node:stream';
import { bindContext, createContext, type RequestContext, runWithContext, tryCurrentContext } from '@ctxkit/core';
import { type Case, type Probe, type ProbeResult, same } from '../harness.ts';
import { close, hangUp, listen, request, signal } from '../support.ts';

const als = new AsyncLocalStorage<object>();
const STORE = { probe: true };
const OUTER = { outer: true };

function classify(store: unknown): ProbeResult {
  if (store === STORE) return 'kept';
  return store === undefined ? 'lost' : 'wrong';
}

/** Runs a server whose handler is `handle`, sends one request with `client`, resolves with what the listener saw. */
async function serverProbe(
  handle: (req: http.IncomingMessage, res: http.ServerResponse, seen: (store: unknown) => void, started: () => void) => void,
  client: (port: number, started: Promise<void>) => Promise<unknown>,
): Promise<ProbeResult> {
  const seen = signal<unknown>();
  const started = signal<void>();
  const server = http.createServer((req, res) => handle(req, res, seen.resolve, started.resolve));
  const port = await listen(server);
  try {
    await client(port, started.promise);
    return classify(await seen.promise);
  } finally {
    await close(server);
  }
}

// nodejs/node#62290: enterWith inside exit(), then a later res.on('finish').
const enterWithFinish: Probe = {
  id: 'enterwith-in-exit-then-finish',
  run: () =>
    serverProbe(
      (_req, res, seen) => {
        // An outer store (an APM's enterWith, a framework's run) around the handler.
        als.run(OUTER, () => {
          als.exit(() => {
            als.enterWith(STORE);
            res.on('finish', () => seen(als.getStore()));
          });
          res.end('ok');
        });
      },
      (port) => request(port, '/'),
    ),
};

const closeOnAbort: Probe = {
  id: 'res-close-on-client-abort',
  run: () =>
    serverProbe(
      (_req, res, seen, started) => {
        als.run(STORE, () => res.on('close', () => seen(als.getStore())));
        started();
      },
      (port, started) => hangUp(port, '/', started),
    ),
};

// nodejs/node#41285
const endAfterResume: Probe = {
  id: 'req-end-after-resume',
  run: () =>
    serverProbe(
      (req, res, seen) => {
        als.run(STORE, () => {
          req.resume();
          req.on('end', () => {
            seen(als.getStore());
            res.end('ok');
          });
        });
      },
      (port) => request(port, '/', { method: 'POST', body: 'x'.repeat(70_000) }),
    ),
};

const abortSignalTimeout: Probe = {
  id: 'abortsignal-timeout-listener',
  run: () =>
    new Promise((resolve) => {
      als.run(STORE, () => AbortSignal.timeout(5).addEventListener('abort', () => resolve(classify(als.getStore()))));
    }),
};

/**
 * Sets a port's `onmessage`, the handler form every runtime has (Node's ports are typed as
 * emitters; Deno's and Bun's are the web's, where `onmessage` also starts the port).
 */
function onMessage(port: object, handler: () => void): void {
  (port as unknown as { onmessage: () => void }).onmessage = handler;
}

const messageChannel: Probe = {
  id: 'messagechannel-handler',
  run: () =>
    new Promise((resolve) => {
      als.run(STORE, () => {
        const { port1, port2 } = new MessageChannel();
        onMessage(port1, () => {
          resolve(classify(als.getStore()));
          port1.close();
        });
        port2.postMessage('ping');
      });
    }),
};

const streamFinished: Probe = {
  id: 'stream-finished-callback',
  run: () =>
    new Promise((resolve) => {
      als.run(STORE, () => {
        const stream = new Readable({ read() {} });
        finished(stream, () => resolve(classify(als.getStore())));
        stream.resume();
        stream.push('x');
        stream.push(null);
      });
    }),
};

export const trapProbes: readonly Probe[] = [enterWithFinish, closeOnAbort, endAfterResume, abortSignalTimeout, messageChannel, streamFinished];

/** Runs `arm` in a fresh context; `arm` calls back with what its listener saw. */
async function inContext(arm: (done: (seen: RequestContext | undefined) => void) => void): Promise<[RequestContext | undefined, RequestContext]> {
  const ctx = createContext();
  try {
    const seen = await new Promise<RequestContext | undefined>((resolve) => runWithContext(ctx, arm, resolve));
    return [seen, ctx];
  } finally {
    ctx.end();
  }
}

/**
 * Where a runtime drops the store, `bindContext` carries it: an `AbortSignal.timeout` listener,
 * a `MessageChannel` handler and a `stream.finished` callback bound with it run in the context.
 */
async function boundListeners(): Promise<void> {
  const [timeoutSeen, a] = await inContext((done) =>
    AbortSignal.timeout(5).addEventListener('abort', bindContext(() => done(tryCurrentContext()))),
  );
  same(timeoutSeen, a, 'a bound AbortSignal.timeout listener');
  const [portSeen, b] = await inContext((done) => {
    const { port1, port2 } = new MessageChannel();
    onMessage(
      port1,
      bindContext(() => {
        done(tryCurrentContext());
        port1.close();
      }),
    );
    port2.postMessage('ping');
  });
  same(portSeen, b, 'a bound MessageChannel handler');
  const [finishedSeen, c] = await inContext((done) => {
    const stream = new Readable({ read() {} });
    finished(stream, bindContext(() => done(tryCurrentContext())));
    stream.resume();
    stream.push(null);
  });
  same(finishedSeen, c, 'a bound stream.finished callback');
}

export const trapCases: readonly Case[] = [{ id: 'bound-listeners', run: boundListeners }];
