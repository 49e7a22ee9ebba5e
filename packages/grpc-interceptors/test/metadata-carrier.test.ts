import { Metadata } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { metadataGetter, metadataSetter } from '../src/index.js';

describe('metadataGetter', () => {
  it('answers every value of a key, as Metadata.get does', () => {
    const md = new Metadata();
    md.add('trace-id', 'a');
    md.add('trace-id', 'b');
    md.set('blob-bin', Buffer.from([1, 2]));
    expect(metadataGetter.get(md, 'trace-id')).toEqual(['a', 'b']);
    expect(metadataGetter.get(md, 'blob-bin')).toEqual([Buffer.from([1, 2])]);
  });

  it('matches keys case-insensitively, as Metadata.get does', () => {
    const md = new Metadata();
    md.set('Request-Id', 'r-1'); // stored lowercase by grpc-js
    expect(metadataGetter.get(md, 'Request-Id')).toEqual(['r-1']);
    expect(metadataGetter.get(md, 'request-id')).toEqual(['r-1']);
  });

  it('reads what metadataSetter wrote', () => {
    const md = new Metadata();
    metadataSetter.set(md, 'tenant-id', 't-9');
    expect(metadataGetter.get(md, 'tenant-id')).toEqual(['t-9']);
  });
});

describe('the client interceptor writes context keys as Metadata.set would', () => {
  it('contextSetter replaces, contextSetIfAbsent keeps what the caller set', async () => {
    const { contextSetIfAbsent, contextSetter } = await import('../src/metadata.js');
    const viaSet = new Metadata();
    viaSet.set('trace-id', '4bf92f3577b34da6a3ce929d0e0e4736');
    viaSet.set('user-id', 'u-1');
    const direct = new Metadata();
    contextSetter.set(direct, 'trace-id', '4bf92f3577b34da6a3ce929d0e0e4736');
    contextSetter.set(direct, 'user-id', 'u-0');
    contextSetter.set(direct, 'user-id', 'u-1');
    expect(direct.toHttp2Headers()).toEqual(viaSet.toHttp2Headers());
    expect(direct.get('user-id')).toEqual(['u-1']);

    const callers = new Metadata();
    callers.set('user-id', 'explicit');
    contextSetIfAbsent.set(callers, 'user-id', 'from-context');
    contextSetIfAbsent.set(callers, 'request-id', 'r-1');
    expect(callers.get('user-id')).toEqual(['explicit']);
    expect(callers.get('request-id')).toEqual(['r-1']);
    // A copy does not share the written values with the original.
    const copy = callers.clone();
    contextSetter.set(copy, 'request-id', 'r-2');
    expect(callers.get('request-id')).toEqual(['r-1']);
  });
});
