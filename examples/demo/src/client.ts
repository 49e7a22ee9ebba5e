// The demo's HTTP client: node:http, so that it can send what a hostile client sends and
// disconnect a real socket mid-request.
import { type ClientRequest, type OutgoingHttpHeaders, request } from 'node:http';

/** A gateway answer. */
export interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: unknown;
}

/** A request in flight: its answer, and a way to hang up. */
export interface Call {
  readonly answer: Promise<Answer>;
  /** Destroys the socket, as a client that goes away does. */
  disconnect(): void;
}

const ANSWER_TIMEOUT_MS = 15_000;

/** Sends `method url` with a JSON body; the answer rejects on a socket error or after 15 s. */
export function send(method: string, url: string, headers: OutgoingHttpHeaders, body?: unknown): Call {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  let req: ClientRequest | undefined;
  const answer = new Promise<Answer>((resolve, reject) => {
    req = request(url, {
      method,
      agent: false,
      timeout: ANSWER_TIMEOUT_MS,
      headers: payload === undefined ? headers : { ...headers, 'content-type': 'application/json' },
    });
    req.on('timeout', () => req!.destroy(new Error(`no answer within ${ANSWER_TIMEOUT_MS} ms`)));
    req.on('error', reject);
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
      });
      res.on('error', reject);
      res.on('end', () => {
        let parsed: unknown = text;
        try {
          parsed = JSON.parse(text);
        } catch {
          // not JSON: keep the text
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed });
      });
    });
    req.end(payload);
  });
  return { answer, disconnect: () => req?.destroy() };
}
