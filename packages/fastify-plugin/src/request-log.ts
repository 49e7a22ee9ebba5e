import { logFields, type RequestContext } from '@ctxkit/core';
import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from 'fastify';

type Bindable = FastifyBaseLogger & { setBindings?: (bindings: Record<string, unknown>) => void };

/**
 * Adds the context's `trace-id` and `request-id` to the request's logger, so every later line
 * of `request.log` and `reply.log` carries them. Fastify already made one child logger per
 * request; pino's `setBindings` appends to it (no second child). Other loggers get a child.
 */
export function bindLogIds(request: FastifyRequest, reply: FastifyReply, ctx: RequestContext): void {
  addBindings(request, reply, logFields(ctx) as Record<string, unknown>);
}

/** Adds the `user-id` once it is known. */
export function bindLogUser(request: FastifyRequest, reply: FastifyReply, userId: string): void {
  addBindings(request, reply, { 'user-id': userId });
}

function addBindings(request: FastifyRequest, reply: FastifyReply, bindings: Record<string, unknown>): void {
  const log = request.log as Bindable;
  if (typeof log.setBindings === 'function') {
    log.setBindings(bindings);
  } else {
    const child = log.child(bindings);
    request.log = child;
    reply.log = child;
  }
}
