import { serviceLog } from '@ctxkit-examples/shared';
import pino from 'pino';

/** This service's logger: JSON lines on stdout, each carrying the request's trace, request and user ids. */
export const log = serviceLog('gateway');

/**
 * Fastify's own logger (request lines), without the mixin: the ctxkit plugin binds the ids to
 * every request's logger itself, and with the mixin too each line would carry them twice.
 */
export const fastifyLog = pino({ base: { service: 'gateway' } });
