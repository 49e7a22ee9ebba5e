import { currentContext, defineKey, type Drop } from '@ctxkit/core';
import { afterEach, describe, expect, it } from 'vitest';
import { ctxkit } from '../src/index.js';
import { call, closeAll, listen, majors, rawCall, traceIdOf } from './helpers.js';

afterEach(closeAll);

const tenantId = defineKey<string>('tenant-id');
const NEW_TRACE_ID = /^[0-9a-f]{32}$/;

/** Splits a raw HTTP/1.1 answer into status, headers and body. */
function parseRaw(raw: string): { status: number; headers: Record<string, string>; body: string } {
  const [head = '', body = ''] = raw.split('\r\n\r\n');
  const [statusLine = '', ...lines] = head.split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const at = line.indexOf(':');
    headers[line.slice(0, at).toLowerCase()] = line.slice(at + 1).trim();
  }
  return { status: Number(statusLine.split(' ')[1]), headers, body };
}

describe.each(majors)('%s', (_name, express) => {
  async function serve(insecureHTTPParser: boolean) {
    const drops: Drop[] = [];
    let served = 0;
    const app = express();
    // Internal trust: every declared key is read, so every hostile value meets validation.
    app.use(ctxkit({ trust: 'internal', onDrop: (drop) => drops.push(drop) }));
    app.get('/', (_req, res) => {
      served++;
      const ctx = currentContext();
      res.json({
        traceId: ctx.traceId,
        requestId: ctx.requestId,
        userId: ctx.userId ?? null,
        tenant: ctx.get(tenantId) ?? null,
        deadline: ctx.deadline ?? null,
      });
    });
    const { port } = await listen(app, { insecureHTTPParser });
    const send = async (headerLines: string[]) => {
      const head = ['GET / HTTP/1.1', 'Host: 127.0.0.1', 'Connection: close', ...headerLines].join('\r\n');
      return parseRaw(await rawCall(port, Buffer.from(`${head}\r\n\r\n`, 'latin1')));
    };
    return { drops, send, served: () => served, port };
  }

  /** The request was served and nothing it sent came back: only ids ctxkit validated or made. */
  function expectClean(answer: ReturnType<typeof parseRaw>, hostile: string): any {
    expect(answer.status).toBe(200);
    const body = JSON.parse(answer.body);
    expect(answer.headers['trace-id']).toBe(body.traceId);
    expect(answer.headers['request-id']).toBe(body.requestId);
    for (const value of [answer.headers['trace-id'], answer.headers['request-id'], body.userId, body.tenant]) {
      if (value !== null) expect(value).toMatch(/^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$/);
    }
    // Short values ('-5', 'one') could occur by chance inside a random hex id.
    if (hostile.length >= 8) expect(answer.body.includes(hostile)).toBe(false);
    for (const value of Object.values(answer.headers)) expect(value === hostile).toBe(false);
    return body;
  }

  it('control characters Node lets through (insecureHTTPParser) are dropped with a reason', async () => {
    const h = await serve(true);
    const cases: Array<[string, string, string]> = [
      ['trace-id', 'abc\x00def', 'trace-id'],
      ['user-id', 'u\x01x', 'user-id'],
      ['tenant-id', 'acme\x7f', 'tenant-id'],
      ['request-id', 'r\x1b[31m', 'request-id'],
    ];
    for (const [key, value, dropKey] of cases) {
      h.drops.length = 0;
      const body = expectClean(await h.send([`${key}: ${value}`]), value);
      expect(h.drops.map((d) => d.key)).toContain(dropKey);
      expect(h.drops.find((d) => d.key === dropKey)!.reason).toBe('not printable ASCII (or blank at an end)');
      if (key === 'trace-id') expect(body.traceId).toMatch(NEW_TRACE_ID);
    }
  });

  it('CR and LF: a bare one is refused by Node before the app; a folded line arrives as a space', async () => {
    const h = await serve(true);
    for (const bare of ['abc\rdef', 'abc\ndef']) {
      const answer = await h.send([`trace-id: ${bare}`]);
      expect(answer.status).toBe(400);
    }
    expect(h.served()).toBe(0);

    // obs-fold: "acme\r\n evil" reaches the app as "acme evil"; no CR or LF gets further.
    const folded = expectClean(await h.send(['trace-id: abc', ' def', 'tenant-id: acme', ' evil']), '\r');
    expect(folded.traceId).toMatch(NEW_TRACE_ID); // ids take no spaces
    expect(folded.tenant).toBe('acme evil'); // printable ASCII with an inner space: a valid value
  });

  it('non-ASCII, 10 KB values, duplicates and malformed traceparent or timeout are dropped; the request is served', async () => {
    const h = await serve(false);
    const huge = 'a'.repeat(10_240);
    const cases: Array<[string[], string, string]> = [
      [['tenant-id: caf\xe9'], 'tenant-id', 'not printable ASCII (or blank at an end)'],
      [[`trace-id: ${huge}`], 'trace-id', 'longer than 128 characters'],
      [[`tenant-id: ${huge}`], 'tenant-id', 'longer than 256 characters'],
      [['user-id: a,b'], 'user-id', 'does not match the key pattern'],
      [['trace-id: one', 'trace-id: two'], 'trace-id', 'does not match the key pattern'],
      [['traceparent: 00-xyz-00f067aa0ba902b7-01'], 'traceparent', ''],
      [['traceparent: 00-00000000000000000000000000000000-00f067aa0ba902b7-01'], 'traceparent', ''],
      [['request-timeout-ms: -5'], 'request-timeout-ms', 'negative timeout'],
      [['request-timeout-ms: 1e3'], 'request-timeout-ms', 'malformed timeout (integer milliseconds expected)'],
      [['request-timeout-ms: 99999999999'], 'request-timeout-ms', 'malformed timeout (integer milliseconds expected)'],
    ];
    for (const [lines, dropKey, reason] of cases) {
      h.drops.length = 0;
      const body = expectClean(await h.send(lines), lines[0]!.slice(lines[0]!.indexOf(':') + 2));
      const drop = h.drops.find((d) => d.key === dropKey);
      expect(drop, lines.join(' | ')).toBeDefined();
      if (reason !== '') expect(drop!.reason).toBe(reason);
      expect(drop!.value === undefined || drop!.value.length < 64).toBe(true); // never the whole value
      expect(body.deadline).toBeNull();
      if (dropKey !== 'tenant-id' && dropKey !== 'user-id') expect(body.traceId).toMatch(NEW_TRACE_ID);
    }
  });

  it('a malformed traceparent falls back to a valid trace-id header', async () => {
    const h = await serve(false);
    const answer = await call(h.port, '/', { headers: { traceparent: 'garbage', 'trace-id': traceIdOf(42) } });
    expect(answer.status).toBe(200);
    expect(answer.headers['trace-id']).toBe(traceIdOf(42));
    expect(h.drops.map((d) => d.key)).toEqual(['traceparent']);
  });

  it('onDrop gets the request and the ids the reply echoes', async () => {
    const seen: unknown[] = [];
    const app = express();
    app.use(ctxkit({ trust: 'internal', onDrop: (drop, req) => seen.push([drop.key, drop.traceId, drop.requestId, req.url, req.headers['x-n']]) }));
    app.get('/d', (_req, res) => {
      res.json({});
    });
    const { port } = await listen(app);
    const answer = await call(port, '/d?q=1', { headers: { traceparent: 'nope', 'user-id': 'a,b', 'x-n': '7' } });
    const ids = [answer.headers['trace-id'], answer.headers['request-id']];
    expect(ids[0]).toMatch(NEW_TRACE_ID);
    expect(seen).toEqual([
      ['traceparent', ...ids, '/d?q=1', '7'],
      ['user-id', ...ids, '/d?q=1', '7'],
    ]);
  });
});
