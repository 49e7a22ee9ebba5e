import { finished } from 'node:stream';
import { checkTimeout } from './deadline.js';
import { type BaseFetch, type FirstRequest, followRedirects } from './fetch-redirects.js';
import { contextEnded, reportEndedContext, reportMissingContext } from './lost-context.js';
import { compileOutgoing, type HttpRetryOptions, type Outgoing, type OutgoingOptions, writeHeaders } from './outgoing.js';
import { replayable, withRetries } from './fetch-retry.js';
import type { RetryRun } from './retry.js';
import { OutgoingCall } from './outgoing-call.js';
import { als } from './storage.js';

const TRACE_HEADERS = ['traceparent', 'tracestate'] as const;

/** `RequestInit` plus a per-call timeout. */
export interface CtxFetchInit extends RequestInit {
  /** Timeout for this call, in ms; the earliest of it, the option's and the context's deadline wins. */
  readonly timeoutMs?: number | undefined;
}

/** The global `fetch`'s signature, with {@link CtxFetchInit}; assignable to `typeof fetch`. */
export type CtxFetch = (input: string | URL | Request, init?: CtxFetchInit) => Promise<Response>;

/** Options of {@link createFetch}. */
export interface FetchOptions extends OutgoingOptions {
  /** The `fetch` to wrap (undici's, a test double…); default the global `fetch`, looked up per call. */
  readonly fetch?: BaseFetch | undefined;
  /**
   * Retries inside the call's budget: `true` for the defaults (3 attempts of idempotent methods
   * on 502, 503 and connection failures, backoff 50 ms doubling up to 1 s with full jitter, no
   * retry with under 20 ms left), or a policy. Default: none. A request serving a retry
   * (`request-attempt` > 0) makes one attempt downstream.
   */
  readonly retry?: HttpRetryOptions | boolean | undefined;
}

/**
 * Creates a drop-in for the global `fetch` that carries the current context.
 *
 * Inside a context it adds the propagated keys as headers (never replacing one the caller set),
 * sends the remaining budget in `request-timeout-ms`, and aborts the request (and a body still
 * streaming) when the context is cancelled or its deadline passes, rejecting with
 * `CancelledError` or `DeadlineExceededError`. A `signal` or `timeoutMs` the caller passes is
 * honoured too: whichever ends first wins. With no time left it rejects at once and sends nothing.
 * Redirects are followed as fetch follows them (unless `redirect` says otherwise), but the
 * context's headers only go to the origin asked for: a hop to another origin carries the
 * caller's own headers only. Outside any context it behaves like `fetch` and reports the call
 * (`missingContext`). Under a context that has already ended (a callback kept from a finished
 * request) it reports the call once per call site (`CTXKIT_ENDED_CONTEXT`; `'throw'` rejects)
 * and still sends it as before, with the ended request's ids: the report is how the callback
 * that kept the context is found.
 *
 * @throws RangeError for an invalid `timeoutMs` or `timeoutHeader`; `InvalidMetadataError` for
 * an `allowKeys` name that cannot be a key. The returned function never throws: it rejects.
 * @example
 * const partnerFetch = createFetch({ allowKeys: ['trace-id'], timeoutMs: 2000 });
 * const res = await partnerFetch('https://partner.example/api', { method: 'POST', body });
 */
export function createFetch(options: FetchOptions = {}): CtxFetch {
  const out = compileOutgoing(options);
  const base = options.fetch;

  return function ctxFetch(input, init) {
    const ctx = als.getStore();
    let timeoutMs = out.timeoutMs;
    try {
      if (init?.timeoutMs !== undefined) timeoutMs = checkTimeout(init.timeoutMs, 'timeoutMs');
      if (ctx === undefined) {
        reportMissingContext(out.missingContext, 'fetch');
        if (timeoutMs === undefined && out.retry === undefined) return (base ?? fetch)(input, init);
      } else if (contextEnded(ctx)) reportEndedContext(out.missingContext, 'fetch', ctx);
      const now = Date.now();
      const call = new FetchCall();
      const deadline = call.setDeadline(ctx, undefined, timeoutMs, now);
      const request = typeof input === 'object' && 'signal' in input ? input : undefined;
      // As in fetch, init.headers replace a Request's own.
      const own = init?.headers ?? request?.headers;
      const headers = new Headers(own);
      writeHeaders(out, ctx, deadline, now, headers);
      // init.signal replaces the Request's signal in fetch; ours replaces both, so follow it.
      const early = call.start(ctx, init?.signal !== undefined ? init.signal : request?.signal, now);
      if (early !== undefined) return Promise.reject(early);
      const url = request?.url ?? String(input);
      const method = (init?.method ?? request?.method ?? 'GET').toUpperCase();
      call.trace(ctx, { transport: 'http', method, target: url }, headers, out.allow);
      const sent: RequestInit = { ...init, headers, signal: call.controller.signal };
      const retry = out.retry;
      const retried = retry?.methods.has(method) === true && replayable(init?.body !== undefined ? init.body : (request?.body ?? null));
      const run = retried ? retry!.policy.run(ctx, deadline) : undefined;
      // Redirects fetch would follow, ctxkit follows, so the context's headers stay on the origin asked for.
      if ((init?.redirect ?? request?.redirect ?? 'follow') !== 'follow') {
        return run === undefined ? send(call, base ?? fetch, input, sent, undefined) : sendRetried(call, base ?? fetch, input, sent, undefined, run, out, headers);
      }
      sent.redirect = 'manual';
      const first: FirstRequest = {
        url,
        method,
        body: init?.body ?? request?.body ?? null,
        own,
        inject: (next) => {
          writeHeaders(out, ctx, deadline, Date.now(), next);
          // The same call, the same span: a same-origin hop carries the first request's trace context.
          for (const name of TRACE_HEADERS) {
            const value = headers.get(name);
            if (value !== null && !next.has(name)) next.set(name, value);
          }
        },
      };
      if (run !== undefined) return sendRetried(call, base ?? fetch, input, sent, first, run, out, headers);
      return send(call, base ?? fetch, input, sent, first);
    } catch (error) {
      return Promise.reject(error);
    }
  };
}

/**
 * The global `fetch`, carrying the current context: {@link createFetch} with default options.
 * @example
 * const res = await ctxFetch('http://billing.internal/invoices'); // ids, budget and cancel go along
 */
export const ctxFetch: CtxFetch = createFetch();

function send(
  call: FetchCall,
  base: BaseFetch,
  input: string | URL | Request,
  init: RequestInit,
  first: FirstRequest | undefined,
): Promise<Response> {
  return settle(call, async () => {
    const response = await base(input, init);
    return first === undefined ? response : followRedirects(response, first, base, init);
  });
}

/** {@link send} with the retry policy: each attempt its own headers, signal and redirects. */
function sendRetried(
  call: FetchCall,
  base: BaseFetch,
  input: string | URL | Request,
  init: RequestInit,
  first: FirstRequest | undefined,
  run: RetryRun,
  out: Outgoing,
  headers: Headers,
): Promise<Response> {
  return settle(call, () =>
    withRetries(out, out.retry!, run, headers, call.controller.signal, async (attemptHeaders, signal) => {
      const attemptInit = { ...init, headers: attemptHeaders, signal };
      const r = await base(input, attemptInit);
      return first === undefined ? r : followRedirects(r, first, base, attemptInit);
    }),
  );
}

/** The call's end: released with the error when the fetch fails, else watched until its body closes. */
async function settle(call: FetchCall, fetched: () => Promise<Response>): Promise<Response> {
  let response: Response;
  try {
    response = await fetched();
  } catch (error) {
    call.error ??= error;
    call.release();
    throw error;
  }
  call.status = response.status;
  call._watchBody(response);
  return response;
}

// Last resort for one case only: a body left unread whose stream is collected while still open
// (a small body fully received, then dropped) never closes, so finished() never calls back.
const unreadBodies = new FinalizationRegistry<FetchCall>((call) => call.release());

/**
 * A fetch call. `fetch` resolves when the headers arrive, but the body may still be streaming
 * and must stay cancellable by the context, through the same controller: so the call is released
 * when the body closes (read to the end, cancelled, or errored — by our abort too), observed with
 * `stream.finished`, which neither locks nor reads the stream. An unread body keeps the call
 * linked until its deadline timer fires, the context aborts, undici cancels the body when the
 * Response is collected (which closes it), or else the stream itself is collected (the registry
 * above). A response without a body is released at once.
 */
class FetchCall extends OutgoingCall {
  readonly controller = new AbortController();

  cancel(reason: unknown): void {
    this.controller.abort(reason);
  }

  _watchBody(response: Response): void {
    const body = response.body;
    if (body === null || this.released) {
      this.release();
      return;
    }
    try {
      // Node types finished() for Node streams only; it takes web streams since v18.14.
      finished(body as unknown as NodeJS.ReadableStream, () => this._closed());
    } catch {
      // A body that is not a Node web stream (another fetch's): release now rather than never.
      this.release();
      return;
    }
    unreadBodies.register(body, this, this);
  }

  _closed(): void {
    unreadBodies.unregister(this);
    this.release();
  }
}
