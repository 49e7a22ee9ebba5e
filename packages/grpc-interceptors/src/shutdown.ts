import type { Server } from '@grpc/grpc-js';
import type { DrainOptions, DrainReport, LiveContexts } from '@ctxkit/core';

/**
 * Shuts a grpc-js server down as cancellation: it stops accepting (`tryShutdown`: listeners
 * closed, GOAWAY on every connection; calls that still arrive are refused with UNAVAILABLE by the
 * {@link serverInterceptor} given `live`), brings the deadline of every call in flight forward to
 * `drainMs` (their downstream calls carry the shorter budget), cancels the calls still running
 * when it runs out with `ShutdownError` (the callers see UNAVAILABLE, which their retry policy
 * retries on another replica), and force-closes what is left after `graceMs`.
 *
 * @returns what the drain did (in flight, finished, cancelled, left running).
 * @example
 * const live = new LiveContexts();
 * const server = new grpc.Server({ interceptors: [serverInterceptor({ live })] });
 * process.once('SIGTERM', async () => {
 *   const report = await shutdownServer(server, live, { drainMs: 5_000 });
 *   console.log('drained', report);
 *   process.exit(0);
 * });
 */
export async function shutdownServer(server: Server, live: LiveContexts, options: DrainOptions = {}): Promise<DrainReport> {
  let closed = false;
  const sessionsClosed = new Promise<void>((resolve) =>
    server.tryShutdown(() => {
      closed = true;
      resolve();
    }),
  );
  const report = await live.drain(options);
  if (!closed) {
    // Every call answered: the connections close as soon as their last stream does.
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, options.graceMs ?? 1000);
    });
    await Promise.race([sessionsClosed, grace]);
    clearTimeout(timer);
    if (!closed) server.forceShutdown();
  }
  return report;
}
