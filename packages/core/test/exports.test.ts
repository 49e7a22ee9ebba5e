import { checkExportList, packageOf } from '@ctxkit/test-support';
import { describe, it } from 'vitest';

// Every entry's public surface is committed in exports/<entry>.json: a change to it is deliberate.
describe('export lists', () => {
  it.each([
    ['@ctxkit/core', 'index'],
    ['@ctxkit/core/adapter', 'adapter'],
    ['@ctxkit/core/otel', 'otel'],
    ['@ctxkit/core/fetch', 'fetch'],
    ['@ctxkit/core/diagnostics', 'diagnostics'],
  ])('%s matches exports/%s.json', async (specifier, name) => {
    await checkExportList(packageOf(import.meta.url), specifier, name);
  });
});
