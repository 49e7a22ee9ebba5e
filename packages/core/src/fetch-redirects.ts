/**
 * Redirects of a context-carrying fetch. fetch keeps every header across a redirect to another
 * origin except `authorization`: the context's ids, user id and budget would reach whatever host
 * a redirect names. So ctxkit sends with `redirect: 'manual'` and follows itself, as fetch would,
 * with one difference: the context's headers go only to the origin the caller asked for.
 */

/** What fetch is called with. */
export type BaseFetch = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

const MAX_REDIRECTS = 20; // fetch's own limit
const STRIPPED_ACROSS_ORIGINS = ['authorization', 'proxy-authorization', 'cookie'];
const BODY_HEADERS = ['content-encoding', 'content-language', 'content-location', 'content-type', 'content-length'];

/** The caller's request as far as a redirect needs it: where it went, its headers before ctxkit's. */
export interface FirstRequest {
  readonly url: string;
  readonly method: string;
  readonly body: RequestInit['body'];
  /** The caller's own headers, as given (a redirect builds its headers from them, when it happens). */
  readonly own: RequestInit['headers'];
  /** Adds the context's headers (and the budget left now) to a same-origin hop's. */
  readonly inject: (headers: Headers) => void;
}

/**
 * Follows `response` when it is a redirect: hops on the caller's origin carry the context again
 * (budget recomputed); the first hop to another origin goes with the caller's own headers only
 * (less what fetch strips across origins), and fetch follows the rest by itself. Methods and
 * bodies change as fetch changes them (303, and 301/302 after a POST, become a GET).
 *
 * @throws TypeError as fetch rejects: too many redirects, a non-HTTP(S) target, or a streamed
 * body that a 307/308 would have to send again.
 */
export async function followRedirects(response: Response, first: FirstRequest, base: BaseFetch, init: RequestInit): Promise<Response> {
  if (!isRedirect(response.status)) return response;
  let url = new URL(first.url);
  const origin = url.origin;
  let { method, body } = first;
  let hops = 0;
  while (isRedirect(response.status)) {
    const location = response.headers.get('location');
    if (location === null) break; // fetch hands such a response over as it is
    await response.body?.cancel();
    if (++hops > MAX_REDIRECTS) throw fetchFailed('redirect count exceeded');
    const next = new URL(location, url);
    if (next.protocol !== 'http:' && next.protocol !== 'https:') throw fetchFailed('URL scheme must be a HTTP(S) scheme');
    const headers = new Headers(first.own);
    const status = response.status;
    if ((status === 303 && method !== 'HEAD') || ((status === 301 || status === 302) && method === 'POST')) {
      method = 'GET';
      body = null;
      for (const name of BODY_HEADERS) headers.delete(name);
    } else if (body instanceof ReadableStream) {
      throw fetchFailed('cannot follow a redirect with a streamed body');
    }
    url = next;
    const sameOrigin = next.origin === origin;
    if (sameOrigin) first.inject(headers);
    else for (const name of STRIPPED_ACROSS_ORIGINS) headers.delete(name);
    response = await base(next, { ...init, method, body, headers, redirect: sameOrigin ? 'manual' : 'follow' });
    if (!sameOrigin) break;
  }
  // As fetch marks a followed response; the instance property shadows the prototype's getter.
  if (hops > 0) Object.defineProperty(response, 'redirected', { value: true });
  return response;
}

function isRedirect(status: number): boolean {
  return status === 301 || status === 302 || status === 303 || status === 307 || status === 308;
}

function fetchFailed(why: string): TypeError {
  return new TypeError('fetch failed', { cause: new Error(why) });
}
