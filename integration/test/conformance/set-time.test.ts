/**
 * Ids and values set by application code that cannot go on the wire fail where they are set,
 * with InvalidMetadataError; the request and its calls go on with the context unchanged.
 */
import { createContext, currentContext, defineKey, InvalidMetadataError, runWithContext, withValues } from '@ctxkit/core';
import { clientInterceptor } from '@ctxkit/grpc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hopClient } from './support/hop-service.ts';
import { type Hop, startGrpcHop } from './support/hops.ts';

const tenant = defineKey('tenant-id');
const extra = Array.from({ length: 40 }, (_, i) => defineKey(`extra-${i}`));

let grpc: Hop;
beforeAll(async () => {
  grpc = await startGrpcHop('grpc');
});
afterAll(async () => {
  await grpc.close();
});

describe('declaring keys', () => {
  it.each([
    ['grpc-timeout'], ['grpc-custom'], ['connection'], ['keep-alive'], ['te'], ['transfer-encoding'], ['upgrade'],
    ['host'], ['proxy-connection'], ['authorization'], ['cookie'], ['x-thing-bin'], ['traceparent'], ['baggage'],
    ['tenant id!'], ['ténant'], ['a'.repeat(65)], [''], ['trace-id'],
  ])('defineKey(%j) throws InvalidMetadataError', (name) => {
    expect(() => defineKey(name)).toThrow(InvalidMetadataError);
  });
});

describe('setting values', () => {
  const bad: [string, Record<string, string>][] = [
    ['a space in an id', { userId: 'a b' }],
    ['a comma in an id', { userId: 'a,b' }],
    ['CR LF', { tenantId: 'x\r\ny' }],
    ['a lone LF', { tenantId: 'x\ny' }],
    ['non-ASCII', { tenantId: 'acmé' }],
    ['a control character', { tenantId: 'a\u0000b' }],
    ['a blank end', { tenantId: 'acme ' }],
    ['too long (257)', { tenantId: 'x'.repeat(257) }],
    ['an undeclared key', { 'grpc-status': '0' }],
    ['a connection header', { connection: 'close' }],
    ['a trace id change', { traceId: 'abc' }],
  ];
  it.each(bad)('%s throws InvalidMetadataError at withValues and at createContext', (_n, values) => {
    expect(() => withValues(values, () => 0)).toThrow(InvalidMetadataError);
    expect(() => createContext({ values })).toThrow(InvalidMetadataError);
  });

  it('too many entries (33) or too many bytes (> 4096) throw where set', () => {
    const many = Object.fromEntries(extra.slice(0, 31).map((k) => [k.name, 'v']));
    expect(() => createContext({ values: many })).toThrow(/more than 32 propagated entries/);
    const big = Object.fromEntries(extra.slice(0, 5).map((k) => [k.name, 'v'.repeat(256)]));
    expect(() => createContext({ values: { ...big, ...Object.fromEntries(extra.slice(5, 20).map((k) => [k.name, 'v'.repeat(256)])) } })).toThrow(
      /exceed 4096 bytes/,
    );
  });

  it('createContext rejects bad ids at creation', () => {
    expect(() => createContext({ traceId: 'has space' })).toThrow(InvalidMetadataError);
    expect(() => createContext({ requestId: 'x'.repeat(129) })).toThrow(InvalidMetadataError);
    expect(() => createContext({ userId: 'ü' })).toThrow(InvalidMetadataError);
  });

  it('after a refused value the context is unchanged and the gRPC call succeeds with it', async () => {
    using ctx = createContext({ values: { [tenant.name]: 'acme' } });
    const client = hopClient(grpc.target, { interceptors: [clientInterceptor()] });
    try {
      const report = await runWithContext(ctx, async () => {
        expect(() => withValues({ tenantId: 'evil\r\nx-injected: 1' }, () => 0)).toThrow(InvalidMetadataError);
        expect(currentContext().get(tenant)).toBe('acme');
        return client.call({});
      });
      expect(report.ctx.metadata[tenant.name]).toBe('acme');
      expect(report.received.some(([k]) => k === 'x-injected')).toBe(false);
    } finally {
      client.close();
    }
  });
});
