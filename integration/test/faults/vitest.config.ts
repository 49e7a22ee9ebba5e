import { defineConfig } from 'vitest/config';

// The fault suite: run by `npm run test:faults`, never by the normal `npm test` (its include
// pattern, test/**/*.test.ts, does not match *.faults.ts).
export default defineConfig({
  test: {
    root: new URL('../..', import.meta.url).pathname,
    include: ['test/faults/**/*.faults.ts'],
    testTimeout: 180_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
