import type { DropHandler } from '@ctxkit/core';
import { countDrop, dropOf, keyDefinition, valueProblem } from '@ctxkit/core/adapter';

const requestIdKey = keyDefinition('request-id')!;

/**
 * Fastify's `request.id` when it is a valid ctxkit request id, so that one id names the
 * request everywhere; `undefined` (a new id is made) when it is not. Fastify's default ids
 * (`req-1`) always pass; an id taken from a client header by `requestIdHeader` may not.
 */
export function acceptedRequestId(id: string, onDrop: DropHandler = countDrop): string | undefined {
  const problem = valueProblem(requestIdKey, id);
  if (problem === undefined) return id;
  onDrop(dropOf('request-id', `Fastify request.id ${problem}`, id));
  return undefined;
}
