import type { EventEmitter } from 'node:events';
import { type RequestContext, runWithContext, tryCurrentContext } from '@ctxkit/core';

const CONTEXT = Symbol('ctxkit.express.context');
const EMIT = Symbol('ctxkit.express.emit');

type Emit = EventEmitter['emit'];
type Bound = EventEmitter & { [CONTEXT]?: RequestContext; [EMIT]: Emit };

/**
 * Makes every listener of `emitter` run in `ctx`. The request and response streams emit from
 * socket callbacks, outside any request context: a middleware that reads the body with
 * `req.on('data'|'end')` (multer, busboy, hand-written parsers, old body-parser) and calls
 * `next()` from there would run the rest of the chain without it, and so would
 * `res.on('finish')` loggers. Current body-parser/raw-body keep the context by themselves
 * (an AsyncResource around their callback); this covers everything else.
 *
 * Cheaper than the alternatives measured in bench/binding.mjs: one shared `emit` (no closure,
 * no AsyncResource per request, unlike cls-rtracer), no per-listener wrapper (unlike
 * cls-hooked's `bindEmitter`), and no context switch when the emit already runs in `ctx`.
 */
export function bindEmitter(emitter: EventEmitter, ctx: RequestContext): void {
  const bound = emitter as Bound;
  bound[CONTEXT] = ctx;
  if (bound.emit !== emitInContext) {
    bound[EMIT] = bound.emit;
    bound.emit = emitInContext;
  }
}

/** The context {@link bindEmitter} bound to `emitter`, if any. */
export function boundContext(emitter: EventEmitter): RequestContext | undefined {
  return (emitter as Bound)[CONTEXT];
}

function emitInContext(this: Bound, event: string | symbol, ...args: unknown[]): boolean {
  const ctx = this[CONTEXT]!;
  if (tryCurrentContext() === ctx) return this[EMIT](event, ...args);
  return runWithContext(ctx, emitOriginal, this, event, args);
}

function emitOriginal(emitter: Bound, event: string | symbol, args: unknown[]): boolean {
  return emitter[EMIT](event, ...args);
}
