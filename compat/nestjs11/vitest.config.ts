import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// @ctxkit/nestjs's own tests, with every Nest import (theirs and the package's sources') resolved
// to the NestJS 11 installed here. Nest's packages then find each other from here, so one Nest
// major is loaded, never a mix.
const nest11 = ['@nestjs/common', '@nestjs/core', '@nestjs/microservices', '@nestjs/platform-express', '@nestjs/platform-fastify', 'nestjs-cls'];
const installed = (name: string) => fileURLToPath(new URL(`./node_modules/${name}`, import.meta.url));

export default defineConfig({
  resolve: {
    alias: nest11.map((name) => ({ find: new RegExp(`^${name}(/.*)?$`), replacement: `${installed(name)}$1` })),
  },
  test: {
    include: ['*.test.ts', '../../packages/nestjs/test/**/*.test.ts'],
    // The export lists are the package's, whatever Nest it runs on.
    exclude: ['../../packages/nestjs/test/exports.test.ts', '**/node_modules/**'],
    testTimeout: 20_000,
  },
});
