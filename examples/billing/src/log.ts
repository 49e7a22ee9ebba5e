import { pinoMixin } from '@ctxkit/core';
import pino from 'pino';

/** This service's logger: JSON lines on stdout, each carrying the request's trace, request and user ids. */
export const log = pino({ base: { service: 'billing' }, mixin: pinoMixin() });
