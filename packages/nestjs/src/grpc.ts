/**
 * @ctxkit/nestjs/grpc — for Nest's gRPC transport: the RPC exception filter that answers with
 * ctxkit's status mapping. Needs `@ctxkit/grpc` and `@nestjs/microservices`.
 * @packageDocumentation
 */

export { CtxkitRpcExceptionFilter } from './rpc-exception-filter.js';
export type { CtxkitRpcExceptionFilterOptions } from './rpc-exception-filter.js';
