import { defineConfig } from 'vitest/config';

// Root config for runs outside turbo (CI runs the suite on each supported Node this way).
export default defineConfig({
  test: {
    projects: ['packages/*', 'examples/*', 'integration'],
  },
});
