import { defineConfig } from 'vitest/config';

// The interop suite: ctxkit beside peers it did not write (grpc-go, grpcio, nginx, HAProxy).
// Run by `npm run test:interop`, never by `npm test` (*.interop.ts is not a test/**/*.test.ts).
export default defineConfig({
  test: {
    root: new URL('.', import.meta.url).pathname,
    include: ['**/*.interop.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
