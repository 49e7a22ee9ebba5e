import { afterEach, expect, it } from 'vitest';
import { call, closeAll, listen, makeApp } from './helpers.js';

afterEach(closeAll);

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';

it('request.log carries the ids under the default names', async () => {
  const { app, log } = await makeApp({ resolveUser: () => 'u-1' });
  app.get('/', async (request) => {
    request.log.info('handling');
    return {};
  });
  const res = await call(await listen(app), '/', { headers: { 'trace-id': TRACE } });
  const line = await log.waitFor((l) => l.msg === 'handling');
  expect(line).toMatchObject({ 'trace-id': TRACE, 'request-id': res.headers['request-id'], 'user-id': 'u-1' });
});

it('logFieldNames renames them, so no line carries one id under two names', async () => {
  const { app, log } = await makeApp({
    resolveUser: () => 'u-1',
    logFieldNames: { traceId: 'trace_id', requestId: 'request_id', userId: 'user_id' },
  });
  app.get('/', async (request) => {
    request.log.info('handling');
    return {};
  });
  const res = await call(await listen(app), '/', { headers: { 'trace-id': TRACE } });
  const line = await log.waitFor((l) => l.msg === 'handling');
  expect(line).toMatchObject({ trace_id: TRACE, request_id: res.headers['request-id'], user_id: 'u-1' });
  expect(line).not.toHaveProperty('trace-id');
  expect(line).not.toHaveProperty('user-id');
});

it('an empty field name fails the registration', async () => {
  await expect(makeApp({ logFieldNames: { traceId: '' } })).rejects.toThrow(TypeError);
});
