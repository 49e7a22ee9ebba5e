import type { IncomingHttpHeaders } from 'node:http';
import { request as httpRequest } from 'node:http';

/** What a server answered. */
export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  json(): any;
}

/** The request to make. */
export interface CallInit {
  method?: string;
  headers?: Record<string, string | string[]>;
  body?: string | Buffer;
}

/** One real HTTP request through node:http to 127.0.0.1, on its own connection. */
export function call(port: number, path: string, init: CallInit = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port, path, method: init.method ?? 'GET', headers: init.headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode!, headers: res.headers, body, json: () => JSON.parse(body) });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(init.body);
  });
}
