import { describe, expect, it } from 'vitest';
import { errorResponse } from './adapter.js';
import { CancelledError, createContext, DeadlineExceededError, InvalidMetadataError, NoContextError, Status, toHttpStatus } from './index.js';

describe('toHttpStatus', () => {
  it('follows the grpc-gateway table', () => {
    const table = [200, 499, 500, 400, 504, 404, 409, 403, 429, 400, 409, 400, 501, 500, 503, 500, 401];
    expect(Object.values(Status).map(toHttpStatus)).toEqual(table);
    expect(toHttpStatus(99)).toBe(500);
  });
});

describe('errorResponse', () => {
  it('maps ctxkit errors', () => {
    const ctx = createContext();
    expect(errorResponse(new DeadlineExceededError(), ctx)).toEqual({
      status: 504,
      body: { code: 'DEADLINE_EXCEEDED', message: 'deadline exceeded', traceId: ctx.traceId },
      internal: false,
      followsAbort: false,
    });
    ctx.end();
    expect(errorResponse(new CancelledError()).status).toBe(499);
    expect(errorResponse(new NoContextError()).body.message).toBe('internal error');
    expect(errorResponse(new InvalidMetadataError('k', 'secret detail')).body.message).toBe('internal error');
  });

  it('maps gRPC status errors, hiding INTERNAL details', () => {
    expect(errorResponse({ code: 5, details: 'order 7 not found', message: '5 NOT_FOUND: x' }).body).toMatchObject({
      code: 'NOT_FOUND',
      message: 'order 7 not found',
    });
    const internal = errorResponse({ code: 13, details: 'db password wrong at /srv/x.js:12', message: '' });
    expect(internal).toMatchObject({ status: 500, internal: true, body: { code: 'INTERNAL', message: 'internal error' } });
    const transport = [
      [4, 504, 'Deadline exceeded after 0.842s,remote_addr=127.0.0.1:42765', 'deadline exceeded'],
      [14, 503, 'No connection established. Last error: connect ECONNREFUSED 10.0.0.7:50051', 'service unavailable'],
      [1, 499, 'Cancelled on client', 'cancelled'],
      [12, 501, 'The server does not implement the method /internal.Admin/Drop', 'not implemented'],
    ] as const;
    for (const [code, status, details, message] of transport) {
      expect(errorResponse({ code, details, message: details })).toMatchObject({ status, internal: false, body: { message } });
    }
  });

  it('keeps framework 4xx statuses with a safe message; anything else is a bare 500', () => {
    const parse = Object.assign(new Error('Unexpected token \u0000 in JSON'), { status: 400, expose: true });
    expect(errorResponse(parse)).toMatchObject({ status: 400, body: { code: 'INVALID_ARGUMENT', message: 'Unexpected token \\u0000 in JSON' } });
    expect(errorResponse(Object.assign(new Error('x'), { statusCode: 413 })).body.code).toBe('RESOURCE_EXHAUSTED');
    const crash = errorResponse(new TypeError('cannot read secretField of undefined'));
    expect(crash).toEqual({
      status: 500,
      body: { code: 'INTERNAL', message: 'internal error', traceId: undefined },
      internal: true,
      followsAbort: false,
    });
    expect(errorResponse(Object.assign(new Error('upstream'), { statusCode: 502 })).status).toBe(500);
    expect(errorResponse('a string').status).toBe(500);
    expect(errorResponse(null).status).toBe(500);
  });
});

describe('errorResponse followsAbort', () => {
  it('tells an ending caused by the context abort from a fault, only once the context is aborted', () => {
    const ctx = createContext();
    const headersSent = Object.assign(new Error('Cannot set headers after they are sent'), { code: 'ERR_HTTP_HEADERS_SENT' });
    const aborted = Object.assign(new Error('This operation was aborted'), { name: 'AbortError' });
    const downstream = { code: Status.DEADLINE_EXCEEDED, details: 'Deadline exceeded after 0.1s', message: '4 DEADLINE_EXCEEDED' };
    const notFound = { code: Status.NOT_FOUND, details: 'no such order', message: '5 NOT_FOUND' };
    const bug = new TypeError('x is undefined');
    const all = [new CancelledError(), headersSent, aborted, downstream, notFound, bug];
    expect(all.map((e) => errorResponse(e, ctx).followsAbort)).toEqual([false, false, false, false, false, false]);
    expect(errorResponse(aborted).followsAbort).toBe(false);
    ctx.cancel(new CancelledError('client disconnected'));
    expect(all.map((e) => errorResponse(e, ctx).followsAbort)).toEqual([true, true, true, true, false, false]);
    ctx.end();
  });
});
