import { pinoMixin } from '@ctxkit/core';
import pino, { type Logger } from 'pino';

const loggers = new Map<string, Logger>();

/** A service's logger: JSON lines on stdout, each carrying the request's trace, request and user ids. */
export function serviceLog(service: string): Logger {
  let log = loggers.get(service);
  if (log === undefined) {
    log = pino({ base: { service }, mixin: pinoMixin() });
    loggers.set(service, log);
  }
  return log;
}
