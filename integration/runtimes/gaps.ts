/**
 * Where a runtime cannot give one of ctxkit's guarantees, and what to do instead. Every entry is
 * a cell the support table shows as a gap rather than a failure; the driver fails when a listed
 * gap starts passing (the entry is stale) and when a case fails that is not listed here. Keep
 * this list and core's start-up warning (`packages/core/src/runtime.ts`) saying the same.
 */
export const gaps: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  bun: {
    undici:
      "Bun resolves `undici` to its own built-in module, whose `Agent` has no `compose()`: the undici interceptor cannot be installed; use `ctxFetch` (or `createFetch`).",
  },
};
