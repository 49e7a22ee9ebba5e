import { createContext, currentContext, defineKey, runWithContext, withTimeout, withValue } from '@ctxkit/core';

export const tenantId = defineKey('tenant-id'); // declared once, checked once

async function placeOrder(sku: string) {
  const ctx = currentContext(); // throws NoContextError outside a request
  console.log({ trace: ctx.traceId, user: ctx.userId, tenant: ctx.get(tenantId), left: ctx.remainingMs() });
  // A child with its own, shorter budget; never longer than the request's.
  return withTimeout(200, async () => ({ sku, left: currentContext().remainingMs() }));
}

// The adapters do this for every request; a job or a queue consumer does it by hand.
const ctx = createContext({ userId: 'alice', timeoutMs: 1_000 });
console.log(await runWithContext(ctx, () => withValue(tenantId, 'acme', () => placeOrder('book'))));
ctx.end();
