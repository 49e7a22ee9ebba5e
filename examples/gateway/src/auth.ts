import { Status, statusError } from '@ctxkit/grpc';
import type { FastifyRequest } from 'fastify';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated user's id, set by {@link authenticate}. */
    user: string | undefined;
  }
}

// A stand-in for a real identity provider: bearer token → user id.
const USERS = new Map([
  ['token-alice', 'alice'],
  ['token-bob', 'bob'],
]);
const BEARER = /^Bearer ([\w.-]{1,256})$/;

/**
 * An `onRequest` hook: authenticates the bearer token, or refuses the request with
 * UNAUTHENTICATED (HTTP 401). Headers such as `user-id` are never read: who the user is comes
 * from the token alone, and `resolveUser` hands it to ctxkit.
 */
export async function authenticate(request: FastifyRequest): Promise<void> {
  const token = BEARER.exec(request.headers.authorization ?? '')?.[1];
  const user = token === undefined ? undefined : USERS.get(token);
  if (user === undefined) throw statusError(Status.UNAUTHENTICATED, 'missing or unknown bearer token');
  request.user = user;
}
