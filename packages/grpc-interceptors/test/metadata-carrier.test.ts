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

  it('answers undefined for an absent key, not a new empty list', () => {
    const md = new Metadata();
    md.set('user-id', 'u-1');
    expect(metadataGetter.get(md, 'request-id')).toBeUndefined();
    expect(metadataGetter.get(md, 'Request-Id')).toBeUndefined();
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
