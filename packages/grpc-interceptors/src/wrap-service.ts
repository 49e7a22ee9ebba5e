import type { Metadata, sendUnaryData, ServerUnaryCall, UntypedServiceImplementation } from '@grpc/grpc-js';
import { type OwnedContext, type RequestContext, runWithContext } from '@ctxkit/core';
import type { Admission } from '@ctxkit/core/adapter';
import { type ErrorLogger, errorRecord, logJsonLine } from './error-log.js';
import {
  abortCallContext,
  CONTEXT_SLOT,
  compileMinBudget,
  compileOpenContext,
  type MinBudgetOption,
  type OpenContext,
  type ServerContextOptions,
} from './server-context.js';
import { StatusError, toStatus } from './status-error.js';

/** Options of {@link wrapService}. */
export interface WrapServiceOptions extends ServerContextOptions {
  /** Receives unexpected handler errors (answered as INTERNAL). Default: one JSON line on stderr. */
  readonly logger?: ErrorLogger | undefined;
  /**
   * The least time, ms, a handler needs to answer usefully: one figure for every handler, or
   * figures by handler name (`{ create: 50 }`; a name that is not a handler throws). A call with
   * less left when its handler would start (or whose deadline has passed, or that was cancelled)
   * is answered DEADLINE_EXCEEDED without running it; counted in `refusedRequests()` under the
   * method's path and published on `REFUSED_CHANNEL`. Default 0 for every handler: only a call
   * whose deadline passed before its handler started (behind a slow interceptor) is refused.
   */
  readonly minBudgetMs?: MinBudgetOption;
}

// What every kind of server call has in common (grpc-js does not export its name).
type ServerSurfaceCall = Omit<ServerUnaryCall<unknown, unknown>, 'request'>;
type Handler = (call: ServerSurfaceCall, callback?: sendUnaryData<unknown>) => unknown;

/**
 * Wraps a service implementation (an object or class instance of handlers, as used with
 * `@grpc/proto-loader` or generated stubs) so that its handlers answer with proper statuses:
 * a {@link statusError} keeps its code and message; `DeadlineExceededError` and
 * `CancelledError` map to their codes; anything else thrown, rejected or passed to the callback
 * becomes INTERNAL with a generic message, logged with the trace id and never sent. A handler may
 * be `async`: for unary responses a resolved value is the response.
 *
 * With {@link serverInterceptor} installed the handlers run in the interceptor's context; without
 * it the wrapper builds the context itself (for servers you cannot construct), with one limit:
 * stream event listeners (`call.on('data')`) then run outside it, while `for await` keeps it.
 *
 * @example
 * server.addService(pkg.Orders.service, wrapService({
 *   async get(call) {
 *     const order = await db.find(call.request.id);
 *     if (!order) throw statusError(Status.NOT_FOUND, 'no such order');
 *     return order;
 *   },
 * }));
 */
export function wrapService<T extends object>(impl: T, options: WrapServiceOptions = {}): T & UntypedServiceImplementation {
  const open = compileOpenContext(options);
  const log = options.logger ?? logJsonLine;
  const names = handlerNames(impl);
  const budgetOf = compileMinBudget(
    options.minBudgetMs,
    names.filter((name) => typeof (impl as Record<string, unknown>)[name] === 'function'),
  );
  const wrapped: Record<string, unknown> = {};
  for (const name of names) {
    const value = (impl as Record<string, unknown>)[name];
    wrapped[name] = typeof value === 'function' ? wrapHandler(value as Handler, impl, name, open, log, budgetOf(name)) : value;
  }
  return wrapped as T & UntypedServiceImplementation;
}

/** Own and inherited (class) method names, short of `Object.prototype`. */
function handlerNames(impl: object): string[] {
  const names = new Set<string>();
  for (let o: object | null = impl; o !== null && o !== Object.prototype; o = Object.getPrototypeOf(o)) {
    for (const name of Object.getOwnPropertyNames(o)) if (name !== 'constructor') names.add(name);
  }
  return [...names];
}

function wrapHandler(fn: Handler, self: object, name: string, open: OpenContext, log: ErrorLogger, admit: Admission): Handler {
  return function ctxkitHandler(call, callback) {
    const metadata: Metadata = call.metadata;
    const ctx = metadata.getOpaque(CONTEXT_SLOT) as OwnedContext | undefined;
    if (ctx !== undefined) return new HandlerRun(fn, self, name, call, callback, ctx, false, log, admit).start();
    const own = open(metadata, call);
    const run = new HandlerRun(fn, self, name, call, callback, own, true, log, admit);
    return runWithContext(own, () => run.start());
  };
}

/** One handler invocation: its response callback, its error mapping and, when owned, its context. */
class HandlerRun {
  #done = false;

  constructor(
    readonly fn: Handler,
    readonly self: object,
    readonly name: string,
    readonly call: ServerSurfaceCall,
    readonly callback: sendUnaryData<unknown> | undefined,
    readonly ctx: OwnedContext,
    readonly owned: boolean,
    readonly log: ErrorLogger,
    readonly admit: Admission,
  ) {}

  start(): void {
    if (this.owned) this.watch();
    // Judged now, as the handler would start: a call that waited behind a slow interceptor (after
    // the ctxkit one, or without it) may have no time left, or no caller.
    const refused = this.admit(this.ctx, methodOf(this.call, this.name), this.call);
    if (refused !== undefined) {
      this.fail(refused);
      return;
    }
    let result: unknown;
    try {
      result = this.fn.call(this.self, this.call, this.callback === undefined ? undefined : this.respond);
    } catch (error) {
      this.fail(error);
      return;
    }
    if (isThenable(result)) {
      result.then(
        (value) => {
          if (this.callback !== undefined && value !== undefined) this.respond(null, value);
        },
        (error: unknown) => this.fail(error),
      );
    }
  }

  readonly respond: sendUnaryData<unknown> = (error, value, trailer, flags) => {
    if (this.#done) return;
    this.#done = true;
    if (this.owned) this.ctx.end();
    if (error) this.callback!(this.map(error), null);
    else this.callback!(null, value, trailer, flags);
  };

  fail(error: unknown): void {
    if (this.callback !== undefined) {
      this.respond(error as Error, null);
      return;
    }
    const stream = this.call as ServerSurfaceCall & { writableEnded?: boolean };
    const mapped = this.map(error);
    // A stream that already ended or was cancelled has sent its status; the error is only logged.
    if (stream.cancelled || stream.writableEnded === true) return;
    stream.emit('error', mapped);
  }

  /** The status error to answer with; logs the original when it is unexpected. */
  map(error: unknown): StatusError {
    const { status, unexpected } = toStatus(error);
    if (unexpected) this.log(errorRecord(methodOf(this.call, this.name), this.ctx as RequestContext, error));
    return new StatusError(status.code as StatusError['code'], status.details, { metadata: status.metadata });
  }

  /** Standalone mode: the call's cancellation and end drive the context this run owns. */
  watch(): void {
    const call = this.call;
    call.once('cancelled', () => {
      if (this.#done) return;
      this.#done = true;
      abortCallContext(this.ctx, call);
    });
    if (this.callback === undefined) {
      call.once('finish', () => {
        this.#done = true;
        this.ctx.end();
      });
    }
  }
}

function methodOf(call: ServerSurfaceCall, name: string): string {
  return typeof call.getPath === 'function' ? call.getPath() : name;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && typeof value === 'object' && typeof (value as PromiseLike<unknown>).then === 'function';
}
