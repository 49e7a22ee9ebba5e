import { checkTimeout, compileHttpContext, type HttpContextOptions, type HttpContextStarter } from '@ctxkit/core/adapter';

/**
 * The context starters of one plugin instance: one per Fastify `handlerTimeout` in use, each
 * compiled once. A route's `handlerTimeout` caps the default and the maximum, so the context's
 * deadline is never later than the moment Fastify gives up on the handler: the smaller budget
 * wins, and both sides answer 504 for it.
 */
export class Starters {
  readonly base: HttpContextStarter;
  readonly #options: HttpContextOptions;
  readonly #byCap = new Map<number, HttpContextStarter>();

  /** @throws RangeError for a negative or non-finite `defaultTimeoutMs` or `maxTimeoutMs`. */
  constructor(options: HttpContextOptions) {
    if (options.defaultTimeoutMs !== undefined) checkTimeout(options.defaultTimeoutMs, 'defaultTimeoutMs');
    if (options.maxTimeoutMs !== undefined) checkTimeout(options.maxTimeoutMs, 'maxTimeoutMs');
    this.#options = options;
    this.base = compileHttpContext(options);
  }

  /** The starter for a route whose handler times out after `capMs` (0: no handler timeout). */
  forCap(capMs: number): HttpContextStarter {
    if (!(capMs > 0)) return this.base;
    let start = this.#byCap.get(capMs);
    if (start === undefined) {
      const { defaultTimeoutMs, maxTimeoutMs } = this.#options;
      start = compileHttpContext({
        ...this.#options,
        defaultTimeoutMs: Math.min(defaultTimeoutMs ?? capMs, capMs),
        maxTimeoutMs: Math.min(maxTimeoutMs ?? capMs, capMs),
      });
      this.#byCap.set(capMs, start);
    }
    return start;
  }
}
