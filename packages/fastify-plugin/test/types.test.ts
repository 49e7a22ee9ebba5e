// Type tests (checked by `tsc`, which includes this folder): the plugin's request decoration.
import type { OwnedContext, RequestContext } from '@ctxkit/core';
import type { FastifyContextConfig, FastifyRequest, RouteShorthandOptions } from 'fastify';
import { describe, expectTypeOf, it } from 'vitest';
import type { CtxkitFastifyOptions } from '../src/index.js';

describe('request.ctx', () => {
  it('is the read-only RequestContext on every Fastify request', () => {
    expectTypeOf<FastifyRequest['ctx']>().toEqualTypeOf<RequestContext>();
    expectTypeOf<FastifyRequest['ctx']>().not.toEqualTypeOf<OwnedContext>();
    expectTypeOf<FastifyRequest['ctx']['get']>().returns.toEqualTypeOf<string | undefined>();
  });

  it('resolveUser receives the request and returns a user id', () => {
    expectTypeOf<NonNullable<CtxkitFastifyOptions['resolveUser']>>().parameter(0).toEqualTypeOf<FastifyRequest>();
  });
});

describe('route config minBudgetMs', () => {
  it('is an optional number of milliseconds on every route config', () => {
    expectTypeOf<FastifyContextConfig['minBudgetMs']>().toEqualTypeOf<number | undefined>();
    expectTypeOf<{ config: { minBudgetMs: 200 } }>().toExtend<RouteShorthandOptions>();
    expectTypeOf<{ config: { minBudgetMs: '200' } }>().not.toExtend<RouteShorthandOptions>();
  });
});
