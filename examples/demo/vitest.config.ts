import { defineConfig } from 'vitest/config';

// The services the test starts import the built ctxkit packages: this workspace depends on them,
// so turbo builds them before it runs this test.
export default defineConfig({ test: { include: ['src/**/*.test.ts'], testTimeout: 30_000 } });
