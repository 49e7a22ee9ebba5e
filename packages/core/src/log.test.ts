import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { createContext, createLogFields, logFields, pinoMixin, runWithContext } from './index.js';

describe('log fields', () => {
  it('carry the ids inside a request and nothing outside', () => {
    expect(logFields()).toEqual({});
    const w3c = '4bf92f3577b34da6a3ce929d0e0e4736';
    const ctx = createContext({ traceId: w3c, requestId: 'r-1' });
    expect(runWithContext(ctx, logFields)).toEqual({ 'trace-id': w3c, 'request-id': 'r-1' });
    ctx.assign({ userId: 'u-1' });
    expect(runWithContext(ctx, logFields)).toEqual({ 'trace-id': w3c, 'request-id': 'r-1', 'user-id': 'u-1' });
    // A legacy id is logged beside the W3C one.
    const legacy = createContext({ traceId: 't-1', requestId: 'r-2' });
    expect(runWithContext(legacy, logFields)).toEqual({ 'trace-id': legacy.traceId, 'legacy-trace-id': 't-1', 'request-id': 'r-2' });
  });

  it('a pino logger with the mixin writes them on every line', () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk, _enc, cb) {
        lines.push(JSON.parse(String(chunk)));
        cb();
      },
    });
    const log = pino({ mixin: pinoMixin() }, sink);
    const ctx = createContext({ traceId: 't-2', userId: 'u-2' });
    runWithContext(ctx, () => log.info('inside'));
    log.info('outside');
    expect(lines[0]).toMatchObject({ msg: 'inside', 'trace-id': ctx.traceId, 'legacy-trace-id': 't-2', 'user-id': 'u-2' });
    expect(lines[1]).not.toHaveProperty('trace-id');
  });
});

describe('log field names', () => {
  it('createLogFields and pinoMixin write the ids under the names given, once', () => {
    const fields = createLogFields({ traceId: 'trace_id', requestId: 'request_id', userId: 'user_id' });
    const ctx = createContext({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', requestId: 'r-3', userId: 'u-3' });
    expect(runWithContext(ctx, () => fields())).toEqual({ trace_id: '4bf92f3577b34da6a3ce929d0e0e4736', request_id: 'r-3', user_id: 'u-3' });
    expect(fields()).toEqual({});
    expect(createLogFields()).toBe(logFields);
    const mixin = pinoMixin({ fieldNames: { traceId: 'trace_id' } });
    expect(runWithContext(ctx, mixin)).toEqual({ trace_id: '4bf92f3577b34da6a3ce929d0e0e4736', 'request-id': 'r-3', 'user-id': 'u-3' });
  });

  it('refuses an empty name where it is given', () => {
    expect(() => createLogFields({ traceId: '' })).toThrow(/log field name for traceId/);
  });
});
