import type { ServerResponse } from 'node:http';
import { CtxkitError, type RequestContext, tryCurrentContext } from '@ctxkit/core';
import { type ErrorResponse, errorResponse, isStatusError } from '@ctxkit/core/adapter';
import { type ArgumentsHost, Catch, type HttpServer, Logger, type LoggerService } from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';

/** Options of {@link CtxkitExceptionFilter}. */
export interface CtxkitExceptionFilterOptions {
  /**
   * Where ctxkit's lines go: the debug line of a request that ended after its context was aborted
   * (a 504 already sent, a client gone), and unexpected ctxkit errors (500) in full. Default:
   * Nest's `Logger` with the context `ctxkit`. Other errors are logged by Nest, as without ctxkit.
   */
  readonly logger?: LoggerService | undefined;
}

/** What the request object is on both adapters, as far as ctxkit is concerned. */
type ServedRequest = { ctx?: RequestContext | null; method?: string; url?: string; raw?: { method?: string; url?: string } };

/**
 * The HTTP exception filter of a Nest app served with ctxkit (Express or Fastify adapter): ctxkit
 * errors and gRPC status errors are answered as every ctxkit adapter answers them, with core's
 * mapping (`DeadlineExceededError` from a `withTimeout` → 504, `CancelledError` → 499, a gRPC
 * `NOT_FOUND` → 404, a downstream `DEADLINE_EXCEEDED` → 504…) and the body
 * `{ code, message, traceId }`; everything else (Nest's `HttpException`s included) goes to Nest's
 * own `BaseExceptionFilter`, unchanged.
 *
 * A request whose context was aborted (its deadline passed, its client left) has been answered by
 * ctxkit already, or has nobody to answer: what its handler throws then (its aborted downstream
 * call, a write after the 504) is logged once at debug level, never as an error with a stack. If
 * the handler's failure arrives before ctxkit's own answer, the filter answers as ctxkit would
 * (504 for a deadline).
 *
 * @example
 * app.useGlobalFilters(new CtxkitExceptionFilter(app.getHttpAdapter()));
 * // or, in a module: { provide: APP_FILTER, useClass: CtxkitExceptionFilter }
 */
export class CtxkitExceptionFilter extends BaseExceptionFilter {
  readonly #logger: LoggerService;

  constructor(applicationRef?: HttpServer, options: CtxkitExceptionFilterOptions = {}) {
    super(applicationRef);
    // A Logger without a context of its own: every line names its context, `ctxkit`, once (one
    // with a context adds it again, which Nest's ConsoleLogger prints as a second line).
    this.#logger = options.logger ?? new Logger();
  }

  override catch(exception: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') {
      super.catch(exception, host);
      return;
    }
    const request = host.getArgByIndex<ServedRequest>(0);
    const response = host.getArgByIndex<object>(1);
    const ctx = request.ctx ?? tryCurrentContext();
    const answered = isAnswered(rawResponse(response));
    const answer = errorResponse(exception, ctx);
    if (answer.followsAbort) {
      const reason: unknown = ctx!.signal.reason;
      if (answered) {
        this.#logger.debug?.(endedLine(request, ctx!, exception), 'ctxkit');
        return;
      }
      // The handler's failure came before ctxkit's own answer (its downstream call's deadline
      // timer fired first): the answer is the one the context's abort means.
      this.#reply(response, errorResponse(reason, ctx));
      return;
    }
    if (!(exception instanceof CtxkitError) && !isStatusError(exception)) {
      super.catch(exception, host);
      return;
    }
    if (answered) {
      // A stream that failed after its headers: Nest ends it and logs the error.
      super.catch(exception, host);
      return;
    }
    if (this.#reply(response, answer)) this.#logger.error(exception, undefined, 'ctxkit');
  }

  /** Sends core's answer through Nest's adapter; returns whether the error is unexpected. */
  #reply(response: object, { status, body, internal }: ErrorResponse): boolean {
    const adapter = this.applicationRef ?? this.httpAdapterHost?.httpAdapter;
    if (adapter === undefined) {
      throw new Error('CtxkitExceptionFilter needs the HTTP adapter: new CtxkitExceptionFilter(app.getHttpAdapter())');
    }
    adapter.reply(response, body, status);
    return internal;
  }
}
// Applied as a call, not decorator syntax: the build needs no decorator transform.
Catch()(CtxkitExceptionFilter);

/** Express's response is Node's; Fastify's reply holds it in `raw`. */
function rawResponse(response: object): ServerResponse {
  const raw = (response as { raw?: ServerResponse }).raw;
  return raw ?? (response as ServerResponse);
}

function isAnswered(res: ServerResponse): boolean {
  return res.headersSent || res.writableEnded || res.destroyed || res.socket?.destroyed === true;
}

function endedLine(request: ServedRequest, ctx: RequestContext, error: unknown): string {
  const method = request.method ?? request.raw?.method ?? '';
  const url = request.url ?? request.raw?.url ?? '';
  const reason = ctx.signal.reason as { code?: unknown } | undefined;
  const what = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return `${method} ${url} ended after its context was aborted (${String(reason?.code ?? 'aborted')}); trace-id ${ctx.traceId}: ${what}`;
}
