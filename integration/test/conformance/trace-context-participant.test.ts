/**
 * W3C Trace Context Level 2 (https://www.w3.org/TR/trace-context-2/) as a participant, written
 * from the spec text: every behaviour the official W3C test suite checks, against the same test
 * service it drives (integration/w3c/service.ts: Fastify, the ctxkit plugin, `ctxFetch`), with
 * no tracer, with the OpenTelemetry SDK set up as the core README shows, and with OpenTelemetry's
 * undici instrumentation added (which appends its own headers: ctxkit must then write none, or
 * a call would carry two `traceparent` lines). Each request asks
 * the service to call back here; what it sent is what these tests read, raw.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RawHeader, rawRequest } from './support/raw-http.ts';

const SERVICE = fileURLToPath(new URL('../../w3c/service.ts', import.meta.url));
const TRACE = '12345678901234567890123456789012';
const PARENT = '1234567890123456';
const TP = `00-${TRACE}-${PARENT}-01`;
const TP_UNSAMPLED = `00-${TRACE}-${PARENT}-00`;
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** What one callback received: its raw header lines, names as sent. */
type Lines = readonly (readonly [string, string])[];

interface Sent {
  readonly traceId: string;
  readonly parentId: string;
  readonly flags: number;
  readonly raw: string;
  /** Every tracestate line, combined in order (RFC 9110 §5.3). */
  readonly tracestate: string | undefined;
}

/** The one traceparent a callback carried, parsed; fails unless there is exactly one, valid. */
function sentBy(lines: Lines): Sent {
  const tps = lines.filter(([k]) => k.toLowerCase() === 'traceparent').map(([, v]) => v);
  expect(tps, 'exactly one traceparent').toHaveLength(1);
  const m = TRACEPARENT.exec(tps[0]!);
  expect(m, `a valid traceparent: ${tps[0]}`).not.toBeNull();
  expect(m![1]).not.toBe('0'.repeat(32));
  expect(m![2]).not.toBe('0'.repeat(16));
  const states = lines.filter(([k]) => k.toLowerCase() === 'tracestate').map(([, v]) => v);
  return {
    traceId: m![1]!,
    parentId: m![2]!,
    flags: Number.parseInt(m![3]!, 16),
    raw: tps[0]!,
    tracestate: states.length === 0 ? undefined : states.join(','),
  };
}

/** tracestate as a key → value map (the first of a duplicate), for membership checks. */
function members(state: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of (state ?? '').split(',')) {
    const t = m.trim();
    if (t === '') continue;
    const eq = t.indexOf('=');
    if (!out.has(t.slice(0, eq))) out.set(t.slice(0, eq), t.slice(eq + 1));
  }
  return out;
}

type Mode = 'plain' | 'otel' | 'otel+undici';

class Harness {
  #service: ChildProcess | undefined;
  #callbacks: Server | undefined;
  #port = 0;
  #servicePort = 0;
  #seen = new Map<string, Lines>();
  #n = 0;

  async start(mode: Mode): Promise<void> {
    this.#callbacks = createServer((req, res) => {
      const lines: [string, string][] = [];
      for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push([req.rawHeaders[i]!, req.rawHeaders[i + 1]!]);
      this.#seen.set(req.url!, lines);
      req.resume();
      req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
    });
    this.#callbacks.listen(0, '127.0.0.1');
    await once(this.#callbacks, 'listening');
    this.#port = (this.#callbacks.address() as AddressInfo).port;
    const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', SERVICE], {
      env: {
        PATH: process.env.PATH,
        W3C_MODE: mode === 'plain' ? 'plain' : 'otel',
        W3C_UNDICI: mode === 'otel+undici' ? '1' : '',
        OTEL_TRACES_EXPORTER: 'none', OTEL_METRICS_EXPORTER: 'none',
        OTEL_LOGS_EXPORTER: 'none',
      },
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    this.#service = child;
    let out = '';
    this.#servicePort = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the ${mode} test service did not start in 20 s`)), 20_000);
      child.stdout!.on('data', (d: Buffer) => {
        out += d;
        const m = /listening (\d+)/.exec(out);
        if (m !== null) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the ${mode} test service exited (${code})`));
      });
    });
  }

  async stop(): Promise<void> {
    if (this.#service !== undefined && this.#service.exitCode === null) {
      this.#service.kill();
      await once(this.#service, 'exit');
    }
    if (this.#callbacks !== undefined) await new Promise((resolve) => this.#callbacks!.close(resolve));
  }

  /** One request to the service with `headers`; it makes `count` calls back; their headers. */
  async call(headers: readonly RawHeader[], count = 1): Promise<Lines[]> {
    const id = ++this.#n;
    const paths = Array.from({ length: count }, (_, i) => `/cb/${id}.${i}`);
    const body = JSON.stringify(paths.map((p) => ({ url: `http://127.0.0.1:${this.#port}${p}`, arguments: [] })));
    const res = await rawRequest(this.#servicePort, { path: '/test', headers, body });
    expect(res.status).toBe(200);
    return paths.map((p) => {
      const lines = this.#seen.get(p);
      expect(lines, `the service called back ${p}`).toBeDefined();
      this.#seen.delete(p);
      return lines!;
    });
  }

  async one(headers: readonly RawHeader[]): Promise<Sent> {
    return sentBy((await this.call(headers))[0]!);
  }
}

describe.each(['plain', 'otel', 'otel+undici'] as const)('W3C Trace Context participant (%s)', (mode) => {
  const h = new Harness();
  const tracer = mode !== 'plain';
  beforeAll(() => h.start(mode), 30_000);
  afterAll(() => h.stop());

  describe('traceparent', () => {
    it('a request without one: every call carries a valid one, starting a trace', async () => {
      const sent = await h.one([]);
      expect(sent.traceId).toMatch(/^[0-9a-f]{32}$/);
      // Level 2: ctxkit chose the id at random and says so; it records nothing, so not sampled.
      if (!tracer) expect(sent.flags).toBe(0x02);
    });

    it('a valid one keeps its trace id; without a tracer it is forwarded unchanged, with one the parent id is the client span', async () => {
      const sent = await h.one([['traceparent', TP]]);
      expect(sent.traceId).toBe(TRACE);
      if (tracer) {
        expect(sent.parentId).not.toBe(PARENT);
        expect(sent.flags & 0x01).toBe(1); // the caller sampled; the SDK's parent-based sampler follows
      } else {
        expect(sent.raw).toBe(TP);
      }
    });

    it('the header name is case-insensitive', async () => {
      for (const name of ['TraceParent', 'TrAcEpArEnT', 'TRACEPARENT']) expect((await h.one([[name, TP]])).traceId, name).toBe(TRACE);
    });

    it('other names are not traceparent: a new trace starts', async () => {
      for (const name of ['trace-parent', 'trace.parent']) expect((await h.one([[name, TP]])).traceId, name).not.toBe(TRACE);
    });

    it('optional whitespace around the value is ignored', async () => {
      for (const v of [` ${TP}`, `\t${TP}`, `${TP} `, `${TP}\t`, `\t ${TP} \t`]) expect((await h.one([['traceparent', v]])).traceId).toBe(TRACE);
    });

    it('a higher version is read as 00 and written as 00; one not followed by "-" after the flags is invalid', async () => {
      for (const v of [`cc-${TRACE}-${PARENT}-01`, `cc-${TRACE}-${PARENT}-01-what-the-future-will-be-like`]) {
        const sent = await h.one([['traceparent', v]]);
        expect(sent.traceId).toBe(TRACE);
        expect(sent.raw.startsWith('00-')).toBe(true);
      }
      expect((await h.one([['traceparent', `cc-${TRACE}-${PARENT}-01.what-the-future-will-be-like`]])).traceId).not.toBe(TRACE);
    });

    const invalid: readonly [string, string][] = [
      ['version 00 with trailing characters', `${TP}.`],
      ['version 00 with a trailing field', `${TP}-what-the-future-will-be-like`],
      ['version ff', `ff-${TRACE}-${PARENT}-01`],
      ['an illegal character in the version', `.0-${TRACE}-${PARENT}-01`],
      ['another illegal character in the version', `0.-${TRACE}-${PARENT}-01`],
      ['a 3-digit version', `000-${TRACE}-${PARENT}-01`],
      ['a 4-digit version', `0000-${TRACE}-${PARENT}-01`],
      ['a 1-digit version', `0-${TRACE}-${PARENT}-01`],
      ['an all-zero trace id', `00-${'0'.repeat(32)}-${PARENT}-01`],
      ['an illegal character in the trace id', `00-.${TRACE.slice(1)}-${PARENT}-01`],
      ['a trace id ending in an illegal character', `00-${TRACE.slice(0, 31)}.-${PARENT}-01`],
      ['a 33-digit trace id', `00-${TRACE}3-${PARENT}-01`],
      ['a 31-digit trace id', `00-${TRACE.slice(0, 31)}-${PARENT}-01`],
      ['an all-zero parent id', `00-${TRACE}-${'0'.repeat(16)}-01`],
      ['an illegal character in the parent id', `00-${TRACE}-.${PARENT.slice(1)}-01`],
      ['a parent id ending in an illegal character', `00-${TRACE}-${PARENT.slice(0, 15)}.-01`],
      ['a 17-digit parent id', `00-${TRACE}-${PARENT}7-01`],
      ['a 15-digit parent id', `00-${TRACE}-${PARENT.slice(0, 15)}-01`],
      ['an illegal character in the flags', `00-${TRACE}-${PARENT}-.0`],
      ['flags ending in an illegal character', `00-${TRACE}-${PARENT}-0.`],
      ['3-digit flags', `00-${TRACE}-${PARENT}-001`],
      ['1-digit flags', `00-${TRACE}-${PARENT}-1`],
    ];
    it.each(invalid)('%s: a new trace id, and the tracestate goes with the old one', async (_name, value) => {
      const sent = await h.one([['traceparent', value], ['tracestate', 'foo=1']]);
      expect(sent.traceId).not.toBe(TRACE);
      expect(sent.traceId).not.toBe('0'.repeat(32));
      expect(members(sent.tracestate).has('foo')).toBe(false);
    });

    it('two traceparent headers are ambiguous: a new trace id', async () => {
      const other = `00-${TRACE.slice(0, 31)}1-${PARENT}-01`;
      const sent = await h.one([['traceparent', other], ['traceparent', TP]]);
      expect([TRACE, other.slice(3, 35)]).not.toContain(sent.traceId);
    });

    it('the random flag received goes on every outgoing traceparent of that trace', async () => {
      const sent = await h.one([['traceparent', `00-${TRACE}-${PARENT}-02`]]);
      expect(sent.traceId).toBe(TRACE);
      expect(sent.flags & 0x02).toBe(0x02);
      if (tracer) expect(sent.parentId).not.toBe(PARENT);
    });
  });

  describe('several calls of one request', () => {
    it('a valid traceparent: every call in its trace (with a tracer, one client span each)', async () => {
      const sent = (await h.call([['traceparent', TP]], 3)).map(sentBy);
      expect(new Set(sent.map((s) => s.traceId))).toEqual(new Set([TRACE]));
      expect(new Set(sent.map((s) => s.parentId)).size).toBe(tracer ? 3 : 1);
    });

    it.each([
      ['none', []],
      ['an invalid one', [['traceparent', `00-${'0'.repeat(32)}-${PARENT}-01`]]],
    ] as const)('%s: one new trace for the request, a parent id of its own for each call', async (_name, headers) => {
      const sent = (await h.call(headers, 3)).map(sentBy);
      expect(new Set(sent.map((s) => s.traceId)).size).toBe(1);
      expect(sent[0]!.traceId).not.toBe('0'.repeat(32));
      expect(new Set(sent.map((s) => s.parentId)).size).toBe(3);
    });
  });

  describe('tracestate', () => {
    const tp: RawHeader = ['traceparent', TP_UNSAMPLED];
    const state = async (...lines: string[]) => (await h.one([tp, ...lines.map((l): RawHeader => ['tracestate', l])])).tracestate;

    it('goes with its traceparent; without one it is discarded', async () => {
      expect(members(await state('foo=1,bar=2'))).toEqual(new Map([['foo', '1'], ['bar', '2']]));
      const a = await h.one([['tracestate', 'foo=1']]);
      const b = await h.one([['tracestate', 'foo=1,bar=2']]);
      expect(members(a.tracestate).size).toBe(members(b.tracestate).size);
      expect(members(b.tracestate).has('bar')).toBe(false);
    });

    it('the header name is case-insensitive; other names are not tracestate', async () => {
      for (const name of ['TraceState', 'TrAcEsTaTe', 'TRACESTATE']) expect(members((await h.one([tp, [name, 'foo=1']])).tracestate).get('foo')).toBe('1');
      for (const name of ['trace-state', 'trace.state']) expect(members((await h.one([tp, [name, 'foo=1']])).tracestate).has('foo')).toBe(false);
    });

    it('several header lines are combined in order; empty ones are accepted', async () => {
      const combined = await state('foo=1,bar=2', 'rojo=1,congo=2', 'baz=3');
      expect([...members(combined).keys()]).toEqual(['foo', 'bar', 'rojo', 'congo', 'baz']);
      expect(members(await state('')).size).toBe(0);
      expect(members(await state('foo=1', '')).get('foo')).toBe('1');
      expect(members(await state('', 'foo=1')).get('foo')).toBe('1');
    });

    it('a duplicate key keeps one of its entries', async () => {
      for (const lines of [['foo=1,foo=1'], ['foo=1,foo=2'], ['foo=1', 'foo=1'], ['foo=1', 'foo=2']]) {
        const sent = await state(...lines);
        expect(['1', '2']).toContain(members(sent).get('foo'));
      }
    });

    it('every character the grammar allows in keys and values', async () => {
      const key = 'abcdefghijklmnopqrstuvwxyz0123456789_-*/';
      let value = '';
      for (let c = 0x20; c <= 0x7e; c++) if (c !== 0x2c && c !== 0x3d) value += String.fromCharCode(c);
      expect(members(await state(`${key}=${value}`)).get(key)).toBe(value);
      expect(members(await state(`${key}@a-z0-9_-*/=${value}`)).get(`${key}@a-z0-9_-*/`)).toBe(value);
    });

    it('optional whitespace around members is ignored', async () => {
      for (const v of ['foo=1 \t , \t bar=2, \t baz=3', 'foo=1\t \t,\t \tbar=2,\t \tbaz=3']) {
        expect(members(await state(v))).toEqual(new Map([['foo', '1'], ['bar', '2'], ['baz', '3']]));
      }
      for (const v of [' foo=1', '\tfoo=1', 'foo=1 ', 'foo=1\t', '\t foo=1 \t']) expect(members(await state(v)).get('foo')).toBe('1');
    });

    it('keys with an "@" after the first character are level-2 keys; one starting with "@" makes the header unreadable', async () => {
      for (const key of ['foo@', 'foo@@bar', 'foo@bar@baz']) {
        expect(members(await state(`${key}=1,bar=2`))).toEqual(new Map([[key, '1'], ['bar', '2']]));
      }
      expect(members(await state('@foo=1,bar=2')).has('bar')).toBe(false);
    });

    it('keys of up to 256 characters; one of 257 makes the header unreadable', async () => {
      for (const key of ['z'.repeat(256), `${'t'.repeat(241)}@${'v'.repeat(14)}`, `${'t'.repeat(242)}@v`, `t@${'v'.repeat(15)}`]) {
        expect(members(await state('foo=1', `${key}=1`))).toEqual(new Map([['foo', '1'], [key, '1']]));
      }
      expect(members(await state('foo=1', `${'z'.repeat(257)}=1`)).has('foo')).toBe(false);
    });

    it('illegal keys are not forwarded', async () => {
      for (const v of ['foo =1', 'FOO=1', 'foo.bar=1']) {
        const keys = [...members(await state(v)).keys()];
        expect(keys).toEqual([]);
      }
    });

    it('an illegal value makes the header unreadable', async () => {
      expect(members(await state('foo=bar=baz')).has('foo')).toBe(false);
      const sent = members(await state('foo=,bar=3'));
      expect([sent.has('foo'), sent.has('bar')]).toEqual([false, false]);
    });

    it('32 members are kept; a list of 33 is not forwarded', async () => {
      const list = Array.from({ length: 33 }, (_, i) => `bar${String(i + 1).padStart(2, '0')}=${String(i + 1).padStart(2, '0')}`);
      const lines = (n: number) => [list.slice(0, 10), list.slice(10, 20), list.slice(20, 30), list.slice(30, n)].map((l) => l.join(','));
      const kept = members(await state(...lines(32)));
      expect(kept.size).toBe(32);
      expect(kept.get('bar01')).toBe('01');
      expect(members(await state(...lines(33))).has('bar01')).toBe(false);
    });

    it('a long one is cut to 512 characters by whole entries, those over 128 characters first', async () => {
      const long = `big=${'x'.repeat(200)}`;
      const small = Array.from({ length: 24 }, (_, i) => `v${String(i).padStart(2, '0')}=${'s'.repeat(16)}`);
      const sent = (await state([small[0], long, ...small.slice(1)].join(',')))!;
      expect(sent.length).toBeLessThanOrEqual(512);
      expect(sent.split(',')).toEqual(small.slice(0, sent.split(',').length));
      expect(sent.split(',').length).toBe(small.length);
    });
  });
});
