import { type RequestContext, tryCurrentContext } from '@ctxkit/core';
import { errorResponse } from '@ctxkit/core/adapter';
import { StatusError, toStatus } from '@ctxkit/grpc';
import { type ArgumentsHost, Catch, Logger, type LoggerService } from '@nestjs/common';
import { BaseRpcExceptionFilter, RpcException } from '@nestjs/microservices';
import { type Observable, throwError } from 'rxjs';

/** Options of {@link CtxkitRpcExceptionFilter}. */
export interface CtxkitRpcExceptionFilterOptions {
  /**
   * Receives unexpected handler errors (answered INTERNAL) in full, with the call's trace id.
   * Default: Nest's `Logger` with the context `ctxkit`.
   */
  readonly logger?: LoggerService | undefined;
}

/**
 * The exception filter of a Nest gRPC microservice served with ctxkit: what a `@GrpcMethod` (or
 * stream) handler throws reaches the caller as it does from a ctxkit `wrapService` handler, which
 * Nest's transport cannot use (it builds the service itself). A `statusError(NOT_FOUND, …)` keeps
 * its code, message and trailers; `DeadlineExceededError` and `CancelledError` are
 * DEADLINE_EXCEEDED and CANCELLED; a failed downstream call keeps its code; anything else is
 * INTERNAL `internal error`, logged with the trace id and never sent. Nest's own `RpcException`
 * goes to Nest's `BaseRpcExceptionFilter`, unchanged. Without it, Nest answers every one of these
 * `2 UNKNOWN "Internal server error"`.
 *
 * @example
 * const app = await NestFactory.createMicroservice<MicroserviceOptions>(AppModule, {
 *   transport: Transport.GRPC,
 *   options: { package: 'shop', protoPath, url, channelOptions: { interceptors: [serverInterceptor()] } },
 * });
 * app.useGlobalFilters(new CtxkitRpcExceptionFilter());
 */
export class CtxkitRpcExceptionFilter extends BaseRpcExceptionFilter {
  readonly #logger: LoggerService;

  constructor(options: CtxkitRpcExceptionFilterOptions = {}) {
    super();
    // A Logger without a context of its own: every line names its context, `ctxkit`, once (one
    // with a context adds it again, which Nest's ConsoleLogger prints as a second line).
    this.#logger = options.logger ?? new Logger();
  }

  override catch(exception: unknown, host: ArgumentsHost): Observable<never> {
    if (exception instanceof RpcException) return super.catch(exception, host) as Observable<never>;
    const ctx: RequestContext | undefined = tryCurrentContext();
    const { status, unexpected } = toStatus(exception);
    // An aborted fetch once the caller went away is no fault; anything else unexpected is.
    if (unexpected && !errorResponse(exception, ctx).followsAbort) {
      this.#logger.error(`gRPC handler failed; trace-id ${ctx?.traceId ?? '-'}`, stackOf(exception), 'ctxkit');
    }
    const error = new StatusError(status.code as StatusError['code'], status.details, { metadata: status.metadata ?? undefined });
    return throwError(() => error);
  }
}
// Applied as a call, not decorator syntax: the build needs no decorator transform.
Catch()(CtxkitRpcExceptionFilter);

function stackOf(error: unknown): string {
  return error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : String(error);
}
