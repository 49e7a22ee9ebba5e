import { Context, type RequestContext } from './context.js';
import { als } from './storage.js';

/**
 * The context `ctx` would be without its deadline and cancellation (Go's
 * `context.WithoutCancel`): the same trace id, request id, user id and propagated values, no
 * deadline, and a signal that never aborts, because nothing owns it.
 */
export function detachedContext(ctx: RequestContext): RequestContext {
  // A copy: the owner of `ctx` may still assign values to it in place.
  const detached = new Context(ctx.traceId, ctx.requestId, new Map(ctx.metadata), undefined, false, undefined);
  // The same trace: the same legacy id beside it, and the same origin of its id.
  detached._legacyTraceId = ctx.legacyTraceId;
  detached._randomTraceId = (ctx as Partial<Context>)._randomTraceId === true;
  return detached;
}

/**
 * Runs `fn` with the current request's ids and values but without its deadline and cancellation,
 * so that work started by a handler (a background job, a cache fill, an audit write) outlives the
 * response: it is not aborted when the request times out, is cancelled or ends. Calls it makes
 * carry the ids and no budget. Outside any request `fn` just runs, outside any context.
 *
 * @example
 * app.post('/orders', async (req) => {
 *   const order = await orders.create(req.body);
 *   void detach(() => audit.record(order)); // still runs after the reply was sent
 *   return order;
 * });
 */
export function detach<R>(fn: () => R): R {
  const ctx = als.getStore();
  if (ctx === undefined) return fn();
  return als.run(detachedContext(ctx), fn);
}
