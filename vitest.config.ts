import { defineConfig } from 'vitest/config';

// Root config for runs outside turbo (CI runs the whole suite on Node 22 this way).
export default defineConfig({
  test: {
    projects: ['packages/*/vitest.config.ts', 'compat/*/vitest.config.ts', 'examples/*/vitest.config.ts', 'integration/vitest.config.ts'],
  },
});
