/**
 * Soak load generator process: sends a given number of `GET /order` requests with a fixed
 * concurrency over keep-alive connections, every one with a deadline header. 1 in 100 asks for
 * 50 ms of work and hangs up after 10 ms (a client disconnecting mid-request); 1 in 200 asks for
 * 50 ms of work with a 10 ms budget (expects 504). Stops at the count or the time limit.
 */
import http from 'node:http';
import { ready, serveCommands } from '../lib/ipc.ts';

/** What the parent asks for one segment. */
export interface SoakSpec {
  readonly port: number;
  readonly requests: number;
  readonly concurrency: number;
  readonly timeLimitS: number;
  /** Offset of the first request's index, so the 1% pattern continues across segments. */
  readonly offset: number;
}

/** What one segment did. */
export interface SoakResult {
  readonly sent: number;
  readonly ok: number;
  readonly deadline504: number;
  readonly disconnected: number;
  /** Outcomes that were not the one expected for that request kind. */
  readonly unexpected: number;
  readonly unexpectedSample: string | undefined;
  readonly durationS: number;
  readonly timedOut: boolean;
}

const HEADERS = {
  traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
  'x-user-id': 'u-42',
};

let agent: http.Agent | undefined;

function segment(spec: SoakSpec): Promise<SoakResult> {
  agent ??= new http.Agent({ keepAlive: true, maxSockets: spec.concurrency });
  const a = agent;
  let next = 0;
  let ok = 0;
  let deadline504 = 0;
  let disconnected = 0;
  let unexpected = 0;
  let unexpectedSample: string | undefined;
  let timedOut = false;
  const t0 = performance.now();
  const limit = t0 + spec.timeLimitS * 1000;

  const wrong = (what: string) => {
    unexpected++;
    unexpectedSample ??= what;
  };

  return new Promise((resolve) => {
    let active = 0;
    const launch = () => {
      if (next >= spec.requests) return false;
      if (performance.now() > limit) {
        timedOut = true;
        return false;
      }
      const i = spec.offset + next++;
      const kind = i % 100 === 50 ? 'hangup' : i % 200 === 7 ? 'short' : 'normal';
      const path = kind === 'normal' ? '/order' : '/order?work=50';
      const budget = kind === 'short' ? '10' : '2000';
      active++;
      let settled = false;
      const done = () => {
        if (settled) return;
        settled = true;
        active--;
        if (!launch() && active === 0) {
          resolve({
            sent: next,
            ok,
            deadline504,
            disconnected,
            unexpected,
            unexpectedSample,
            durationS: (performance.now() - t0) / 1000,
            timedOut,
          });
        }
      };
      const req = http.request(
        { host: '127.0.0.1', port: spec.port, path, agent: a, headers: { ...HEADERS, 'request-timeout-ms': budget } },
        (res) => {
          const expected = (kind === 'normal' && res.statusCode === 200) || (kind === 'short' && res.statusCode === 504);
          let body = '';
          if (expected || kind === 'hangup') res.resume();
          else {
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => {
              if (body.length < 300) body += chunk;
            });
          }
          res.on('end', () => {
            if (kind === 'normal' && res.statusCode === 200) ok++;
            else if (kind === 'short' && res.statusCode === 504) deadline504++;
            else if (kind !== 'hangup') wrong(`${kind} request answered ${res.statusCode} ${body.slice(0, 300)}`);
            done();
          });
          res.on('error', () => {
            if (kind !== 'hangup') wrong(`${kind} response stream failed`);
            done();
          });
        },
      );
      req.setTimeout(10_000, () => req.destroy(new Error('client timeout 10 s')));
      req.on('error', (error) => {
        if (kind === 'hangup') disconnected++;
        else wrong(`${kind} request failed: ${error.message}`);
        done();
      });
      req.end();
      if (kind === 'hangup') setTimeout(() => req.destroy(new Error('hang up')), 10);
      return true;
    };
    for (let c = 0; c < spec.concurrency; c++) if (!launch()) break;
    if (active === 0) {
      resolve({ sent: 0, ok, deadline504, disconnected, unexpected, unexpectedSample, durationS: 0, timedOut });
    }
  });
}

serveCommands(
  {
    run: (spec: SoakSpec) => segment(spec),
    // Closes idle keep-alive sockets so the servers' handle counts do not include them.
    release: () => {
      agent?.destroy();
      agent = undefined;
    },
  },
  () => agent?.destroy(),
);
ready();
