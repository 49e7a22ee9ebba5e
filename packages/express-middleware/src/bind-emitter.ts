import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type RequestContext, runWithContext, tryCurrentContext } from '@ctxkit/core';

type Emit = EventEmitter['emit'];
const EMIT = Symbol('ctxkit.express.emit');
const inheritedEmit: Emit = EventEmitter.prototype.emit;

/** A request ctxkit serves: `ctx` is the declared `req.ctx`. */
type ServedRequest = IncomingMessage & { ctx: RequestContext; [EMIT]?: Emit };
type ServedResponse = ServerResponse & { req: ServedRequest; [EMIT]?: Emit };

/**
 * Makes every listener of the request and response streams run in the request's context
 * (`req.ctx`, set before). Both streams emit from socket callbacks, outside any request
 * context: a middleware that reads the body with `req.on('data'|'end')` (multer, busboy,
 * hand-written parsers, old body-parser) and calls `next()` from there would run the rest of
 * the chain without it, and so would a `res.on('close')` logger. Current body-parser/raw-body
 * keep the context by themselves (an AsyncResource around their callback); this covers the rest.
 *
 * Cheaper than the alternatives (measured while choosing): one shared `emit` per stream kind
 * (no closure and no AsyncResource per request, unlike cls-rtracer; no wrapper per listener,
 * unlike cls-hooked's `bindEmitter`); the context is read from `req.ctx` (and `res.req.ctx`)
 * rather than stored again, because every property added to Node's request and response
 * objects measurably costs; and an emit that runs in the context already, or that nobody
 * listens to, switches nothing.
 */
export function bindStreams(req: IncomingMessage, res: ServerResponse): void {
  bind(req, emitRequestInContext);
  bind(res, emitResponseInContext);
}

function bind(emitter: (IncomingMessage | ServerResponse) & { [EMIT]?: Emit }, emit: Emit): void {
  const current = emitter.emit;
  // Another library's patch (on the instance or a prototype) is kept and called.
  if (current !== inheritedEmit) emitter[EMIT] = current;
  emitter.emit = emit;
}

/** Whether `req` is already served by a ctxkit middleware (then `req.ctx` is its context). */
export function isBound(req: IncomingMessage): boolean {
  return req.emit === emitRequestInContext;
}

// `arguments` rather than a rest parameter: no array is built for the emits (most of them)
// that need no switch.
function emitRequestInContext(this: ServedRequest, event: string | symbol): boolean {
  const ctx = this.ctx;
  const emit = this[EMIT] ?? inheritedEmit;
  if (tryCurrentContext() === ctx || this.listenerCount(event) === 0) {
    // biome-ignore lint/complexity/noArguments: see above
    return Reflect.apply(emit, this, arguments);
  }
  // biome-ignore lint/complexity/noArguments: see above
  return runWithContext(ctx, Reflect.apply, emit, this, arguments) as boolean;
}

function emitResponseInContext(this: ServedResponse, event: string | symbol): boolean {
  const ctx = this.req.ctx;
  const emit = this[EMIT] ?? inheritedEmit;
  if (tryCurrentContext() === ctx || this.listenerCount(event) === 0) {
    // biome-ignore lint/complexity/noArguments: see above
    return Reflect.apply(emit, this, arguments);
  }
  // biome-ignore lint/complexity/noArguments: see above
  return runWithContext(ctx, Reflect.apply, emit, this, arguments) as boolean;
}
