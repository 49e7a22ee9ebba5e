/**
 * A raw HTTP/1.1 client over a TCP socket: sends exactly the bytes given (duplicate headers,
 * non-ASCII bytes, oversized headers), which fetch and undici would refuse or normalise.
 */
import { connect } from 'node:net';
import { WritableCapture } from './log-capture.ts';

/** A parsed response. */
export interface RawResponse {
  readonly status: number;
  /** Header entries in order, names lowercased, values as latin1 strings. */
  readonly headers: readonly (readonly [string, string])[];
  readonly body: string;
  header(name: string): string | undefined;
}

/** A header given to {@link rawRequest}: a value string (sent as latin1) or bytes. */
export type RawHeader = readonly [string, string | Buffer];

/**
 * Sends one request with `connection: close` and reads the whole response.
 * Rejects after `timeoutMs` (no hang goes unnoticed).
 */
export function rawRequest(
  port: number,
  options: { method?: string; path?: string; headers?: readonly RawHeader[]; body?: string; timeoutMs?: number } = {},
): Promise<RawResponse> {
  const body = options.body ?? '';
  const parts: Buffer[] = [
    Buffer.from(`${options.method ?? 'POST'} ${options.path ?? '/call'} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n`),
  ];
  for (const [name, value] of options.headers ?? []) {
    parts.push(Buffer.from(`${name}: `, 'latin1'), typeof value === 'string' ? Buffer.from(value, 'latin1') : value, Buffer.from('\r\n'));
  }
  if (body !== '') parts.push(Buffer.from(`content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n`));
  parts.push(Buffer.from('\r\n'), Buffer.from(body));
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const sink = new WritableCapture();
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no complete response within ${options.timeoutMs ?? 5000} ms`));
    }, options.timeoutMs ?? 5000);
    socket.on('data', (chunk: Buffer) => sink.write(chunk));
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      try {
        resolve(parseResponse(Buffer.concat(sink.chunks)));
      } catch (error) {
        reject(error);
      }
    });
    socket.write(Buffer.concat(parts));
  });
}

function parseResponse(buf: Buffer): RawResponse {
  const text = buf.toString('latin1');
  const end = text.indexOf('\r\n\r\n');
  if (end === -1) throw new Error(`incomplete response: ${JSON.stringify(text.slice(0, 200))}`);
  const lines = text.slice(0, end).split('\r\n');
  const status = Number(lines[0]!.split(' ')[1]);
  const headers = lines.slice(1).map((l) => {
    const colon = l.indexOf(':');
    return [l.slice(0, colon).toLowerCase(), l.slice(colon + 1).trim()] as const;
  });
  let body = text.slice(end + 4);
  if (headers.some(([k, v]) => k === 'transfer-encoding' && v === 'chunked')) body = unchunk(body);
  return {
    status,
    headers,
    body: Buffer.from(body, 'latin1').toString('utf8'),
    header: (name) => headers.find(([k]) => k === name)?.[1],
  };
}

function unchunk(body: string): string {
  let out = '';
  let rest = body;
  for (;;) {
    const nl = rest.indexOf('\r\n');
    const size = Number.parseInt(rest.slice(0, nl), 16);
    if (!(size > 0)) return out;
    out += rest.slice(nl + 2, nl + 2 + size);
    rest = rest.slice(nl + 2 + size + 2);
  }
}
