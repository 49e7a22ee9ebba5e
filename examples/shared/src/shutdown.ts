import closeWithGrace from 'close-with-grace';
import type { Logger } from 'pino';

/**
 * Runs `close` once on SIGTERM, SIGINT (and the other signals close-with-grace handles), on an
 * uncaught error, or when the demo that started this process goes away (its IPC channel closes),
 * then exits; a close that hangs is cut after 3 s. Shutdown as Fastify's own docs do it.
 */
export function onShutdown(log: Logger, close: () => Promise<void>): void {
  const grace = closeWithGrace({ delay: 3000, logger: log }, async ({ signal, err, manual }) => {
    if (err !== undefined) log.error({ err }, 'shutting down after an error');
    else log.info({ why: signal ?? (manual === true ? 'parent went away' : 'exit') }, 'shutting down');
    await close();
  });
  process.once('disconnect', () => grace.close());
}
