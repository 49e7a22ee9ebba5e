import { createLogFields, type RequestContext } from '@ctxkit/core';
import type { HttpContextStarter } from '@ctxkit/core/adapter';
import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from 'fastify';

type Bindable = FastifyBaseLogger & { setBindings?: (bindings: Record<string, unknown>) => void };

/** Binds a request's ids to its logger, under the configured field names. */
export interface LogBinder {
  /** Adds the context's trace id and request id to the request's logger. */
  ids(request: FastifyRequest, reply: FastifyReply, ctx: RequestContext): void;
  /** Adds the user id once it is known. */
  user(request: FastifyRequest, reply: FastifyReply, userId: string): void;
}

/**
 * Builds, once, what adds the ids to the request's logger, so every later line of `request.log`
 * and `reply.log` carries them. Fastify already made one child logger per request; pino's
 * `setBindings` appends to it (no second child). Other loggers get a child. `names`: the
 * starter's, checked and with their defaults.
 */
export function compileLogBinder(names: HttpContextStarter['logFieldNames']): LogBinder {
  const fields = createLogFields(names);
  const userField = names.userId;
  return {
    ids(request, reply, ctx) {
      addBindings(request, reply, fields(ctx));
    },
    user(request, reply, userId) {
      addBindings(request, reply, { [userField]: userId });
    },
  };
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
