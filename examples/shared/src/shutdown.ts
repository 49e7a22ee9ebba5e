import type { Logger } from 'pino';

/**
 * Runs `close` once on SIGTERM, SIGINT, or when the demo that started this process goes away
 * (its IPC channel closes), then exits; a close that hangs is cut after 3 s.
 */
export function onShutdown(log: Logger, close: () => Promise<void>): void {
  let stopping = false;
  const stop = (why: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ why }, 'shutting down');
    setTimeout(() => process.exit(1), 3000).unref();
    close().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('disconnect', () => stop('parent went away'));
}
