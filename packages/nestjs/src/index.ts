/**
 * @ctxkit/nestjs — ctxkit inside NestJS: an exception filter that answers ctxkit errors and gRPC
 * statuses as every ctxkit adapter does, and keeps the endings of aborted requests out of the
 * error log. The context itself comes from `@ctxkit/express` or `@ctxkit/fastify` (HTTP) and
 * `@ctxkit/grpc` (Nest's gRPC transport); `@ctxkit/nestjs/grpc` has the RPC exception filter.
 * @packageDocumentation
 */

export { CtxkitExceptionFilter } from './exception-filter.js';
export type { CtxkitExceptionFilterOptions } from './exception-filter.js';
