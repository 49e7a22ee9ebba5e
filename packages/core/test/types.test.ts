// Type tests: checked by `tsc` (npm run typecheck), which includes this folder; the runtime
// assertions below run too, so a broken declaration and a broken value both fail.
import { describe, expectTypeOf, it } from 'vitest';
import {
  type ContextKey,
  createContext,
  currentContext,
  defineKey,
  type OwnedContext,
  type RequestContext,
  runWithContext,
  tryCurrentContext,
  withValue,
  withValues,
} from '../src/index.js';

const plan = defineKey<'free' | 'pro'>('plan-tier');
const region = defineKey('region');

describe('typed keys', () => {
  it('defineKey carries its value type; an untyped key is a string key', () => {
    expectTypeOf(plan).toEqualTypeOf<ContextKey<'free' | 'pro'>>();
    expectTypeOf(region).toEqualTypeOf<ContextKey<string>>();
    expectTypeOf(plan.name).toEqualTypeOf<string>();
  });

  it('ctx.get returns the declared type, or string for a name', () => {
    using ctx = createContext({ values: { planTier: 'pro' } });
    expectTypeOf(ctx.get(plan)).toEqualTypeOf<'free' | 'pro' | undefined>();
    expectTypeOf(ctx.get(region)).toEqualTypeOf<string | undefined>();
    expectTypeOf(ctx.get('plan-tier')).toEqualTypeOf<string | undefined>();
    expectTypeOf(ctx.get(plan)).not.toBeAny();
  });

  it('withValue takes only a value of the key type; withValues takes strings by name', () => {
    runWithContext(createContext(), () => {
      expectTypeOf(withValue(plan, 'pro', () => 1)).toEqualTypeOf<number>();
      expectTypeOf(withValues({ planTier: 'free' }, async () => 'x')).toEqualTypeOf<Promise<string>>();
    });
    // Compiled, never run: each call must be a type error.
    const wrong = () => {
      // @ts-expect-error 'gold' is not a plan tier
      withValue(plan, 'gold', () => 1);
      // @ts-expect-error values are strings on the wire
      withValue(region, 42, () => 1);
      // @ts-expect-error values are strings on the wire
      withValues({ planTier: 1 }, () => 1);
    };
    expectTypeOf(wrong).toBeFunction();
    runWithContext(createContext(), () => {
    });
  });

  it('the current context is read-only; the owner may cancel, assign and end', () => {
    expectTypeOf(currentContext).returns.toEqualTypeOf<RequestContext>();
    expectTypeOf(tryCurrentContext).returns.toEqualTypeOf<RequestContext | undefined>();
    expectTypeOf(createContext).returns.toEqualTypeOf<OwnedContext>();
    expectTypeOf<RequestContext>().not.toHaveProperty('assign');
    expectTypeOf<RequestContext>().not.toHaveProperty('cancel');
    expectTypeOf<OwnedContext>().toHaveProperty('assign');
    expectTypeOf<RequestContext['deadline']>().toEqualTypeOf<number | undefined>();
    expectTypeOf<RequestContext['userId']>().toEqualTypeOf<string | undefined>();
  });
});
