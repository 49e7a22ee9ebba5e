import { createRequire } from 'node:module';
import common from '@nestjs/common/package.json' with { type: 'json' };
import core from '@nestjs/core/package.json' with { type: 'json' };
import microservices from '@nestjs/microservices/package.json' with { type: 'json' };
import express from '@nestjs/platform-express/package.json' with { type: 'json' };
import fastify from '@nestjs/platform-fastify/package.json' with { type: 'json' };
import { describe, expect, it } from 'vitest';
import { CtxkitExceptionFilter } from '../../packages/nestjs/src/index.ts';

// The suite run beside this file is packages/nestjs/test: it proves something only if Nest 11 is
// what loads, for the tests and for the package's sources alike.
describe('this run', () => {
  it('loads NestJS 11', () => {
    expect([common, core, microservices, express, fastify].map((p) => `${p.name}@${p.version.split('.')[0]}`)).toEqual(
      ['common', 'core', 'microservices', 'platform-express', 'platform-fastify'].map((n) => `@nestjs/${n}@11`),
    );
  });

  it("the package's filter extends Nest 11's BaseExceptionFilter", () => {
    const nest11 = createRequire(import.meta.url)('@nestjs/core') as typeof import('@nestjs/core');
    expect(Object.getPrototypeOf(CtxkitExceptionFilter)).toBe(nest11.BaseExceptionFilter);
  });
});
