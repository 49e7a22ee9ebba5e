// Type tests (checked by `tsc`, which includes this folder): the middleware's request decoration.
import type { OwnedContext, RequestContext } from '@ctxkit/core';
import type { Request } from 'express';
import { describe, expectTypeOf, it } from 'vitest';
import '../src/index.js';

describe('req.ctx', () => {
  it('is the read-only RequestContext on every Express request', () => {
    expectTypeOf<Request['ctx']>().toEqualTypeOf<RequestContext>();
    expectTypeOf<Request['ctx']>().not.toEqualTypeOf<OwnedContext>();
  });
});
