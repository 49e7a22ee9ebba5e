/**
 * Shutdown as cancellation: the contexts one server instance is serving, so that stopping it
 * drains them (their deadlines brought forward to a drain budget, which their downstream calls
 * inherit) and then cancels what remains with {@link ShutdownError} (UNAVAILABLE / 503, which
 * callers' retry policies retry on another replica).
 */
import type { Context, OwnedContext, RequestContext } from './context.js';
import { checkTimeout } from './deadline.js';
import { ShutdownError } from './errors.js';

/** What a drain did to the contexts live when it began. */
export interface DrainReport {
  /** Contexts live when the drain began. */
  readonly inFlight: number;
  /** Of those, how many ended within the drain budget, not cancelled by it. */
  readonly finished: number;
  /** Of those, how many were cancelled with {@link ShutdownError} when the budget ran out. */
  readonly cancelled: number;
  /** How many were still not ended after the grace that follows the cancellation (work left running). */
  readonly left: number;
  /** How long the drain took, ms. */
  readonly durationMs: number;
}

/** Options of {@link LiveContexts.drain}. */
export interface DrainOptions {
  /** How long calls in flight may still take, ms. Default 5000. */
  readonly drainMs?: number | undefined;
  /** How long, ms, cancelled work gets to answer before the drain reports what is left. Default 1000. */
  readonly graceMs?: number | undefined;
}

/**
 * The live contexts of one server instance (not of the process: two servers drain apart). An
 * adapter adds each request's context when it starts and deletes it when it ends; while
 * {@link accepting} is `false` the adapter refuses new requests with {@link ShutdownError}.
 * @example
 * const live = new LiveContexts();
 * const server = new grpc.Server({ interceptors: [serverInterceptor({ live })] });
 * process.once('SIGTERM', () => shutdownServer(server, live, { drainMs: 5000 }));
 */
export class LiveContexts {
  readonly #live = new Set<OwnedContext>();
  #accepting = true;
  #drainDeadline: number | undefined = undefined;
  #onEmpty: (() => void) | undefined = undefined;

  /** Whether new requests are taken; `false` from the start of a drain. */
  get accepting(): boolean {
    return this.#accepting;
  }

  /** How many contexts are live. */
  get size(): number {
    return this.#live.size;
  }

  /** Adds a request's context as it starts; during a drain its deadline is brought forward at once. */
  add(ctx: OwnedContext): void {
    this.#live.add(ctx);
    if (this.#drainDeadline !== undefined) shorten(ctx, this.#drainDeadline);
  }

  /** Deletes a request's context once it ended. */
  delete(ctx: RequestContext): void {
    if (this.#live.delete(ctx as OwnedContext) && this.#live.size === 0) this.#onEmpty?.();
  }

  /**
   * Stops accepting, brings every live context's deadline forward to `drainMs` from now (the
   * calls they start from here on carry the shorter budget downstream), waits for them to end,
   * cancels those still live when the budget runs out with {@link ShutdownError}, and waits
   * `graceMs` more for them to answer. Resolves with what happened; never rejects. A second call
   * while draining drains again with its own budget (the earlier deadline stays).
   * @throws RangeError for a negative or non-finite `drainMs` or `graceMs`.
   */
  async drain(options: DrainOptions = {}): Promise<DrainReport> {
    const drainMs = checkTimeout(options.drainMs ?? 5000, 'drainMs');
    const graceMs = checkTimeout(options.graceMs ?? 1000, 'graceMs');
    const start = Date.now();
    this.#accepting = false;
    const deadline = start + drainMs;
    if (this.#drainDeadline === undefined || deadline < this.#drainDeadline) this.#drainDeadline = deadline;
    const inFlight = [...this.#live];
    for (const ctx of inFlight) shorten(ctx, this.#drainDeadline);
    await this.#emptyWithin(this.#drainDeadline - Date.now());
    // What is still live is cancelled here; a context may have been first, by its own timer.
    for (const ctx of this.#live) ctx.cancel(new ShutdownError());
    if (this.#live.size > 0) await this.#emptyWithin(graceMs);
    let cancelled = 0;
    let left = 0;
    for (const ctx of inFlight) {
      if (ctx.signal.aborted && ctx.signal.reason instanceof ShutdownError) cancelled++;
      if (this.#live.has(ctx)) left++;
    }
    return { inFlight: inFlight.length, finished: inFlight.length - cancelled, cancelled, left, durationMs: Date.now() - start };
  }

  #emptyWithin(ms: number): Promise<void> {
    if (this.#live.size === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#onEmpty = undefined;
        resolve();
      };
      const timer = setTimeout(done, Math.max(ms, 0));
      this.#onEmpty = done;
    });
  }
}

function shutdownError(): Error {
  return new ShutdownError();
}

function shorten(ctx: OwnedContext, deadline: number): void {
  const c = ctx as Partial<Context>;
  if (typeof c._shorten === 'function') c._shorten(deadline, shutdownError);
}
