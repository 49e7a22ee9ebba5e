import { defineConfig } from 'tsdown';

// Node runs the other examples' TypeScript as is; Nest's decorators (and the parameter types Nest
// injects by) need a compile step.
export default defineConfig({ entry: ['src/main.ts'], format: ['esm'], platform: 'node', target: 'node22', dts: false, clean: true });
