// The worker thread of the chain test: renders a receipt and reports the context it ran in.
import { currentContext } from '@ctxkit/core';
import { serveTasks } from '@ctxkit/worker';

serveTasks(({ orderId }) => {
  const ctx = currentContext();
  return { orderId, traceId: ctx.traceId, requestId: ctx.requestId, userId: ctx.userId, deadline: ctx.deadline, aborted: ctx.signal.aborted };
});
