/**
 * @ctxkit/grpc — @grpc/grpc-js interceptors that carry the ctxkit context (ids, custom keys,
 * deadline, cancellation) across gRPC hops, status-error helpers, keepalive presets and a
 * client pool.
 * @packageDocumentation
 */

export { clientInterceptor } from './client-interceptor.js';
export type { ClientInterceptorOptions, GrpcRetryOptions } from './client-interceptor.js';

export { serverInterceptor } from './server-interceptor.js';
export type { ServerInterceptorOptions } from './server-interceptor.js';

export { shutdownServer } from './shutdown.js';

export { wrapService } from './wrap-service.js';
export type { WrapServiceOptions } from './wrap-service.js';

export { statusError, StatusError } from './status-error.js';
export type { StatusDetails } from './status-error.js';

export { Status, toHttpStatus } from '@ctxkit/core';
export type { StatusCode, StatusName } from '@ctxkit/core';

export { serverKeepalive, channelKeepalive, aggressiveChannelKeepalive } from './keepalive.js';
export { setStreamResetLimit, STREAM_RESET_LIMIT } from './stream-reset.js';
export type { StreamResetLimit } from './stream-reset.js';
export { ClientPool } from './client-pool.js';
export type { ClientPoolOptions, ClientConstructor } from './client-pool.js';

// For adapter authors and logging set-ups.
export { metadataGetter, metadataSetter } from './metadata.js';
export { logJsonLine } from './error-log.js';
export { toStatus } from './status-error.js';
export type { MappedError } from './status-error.js';
export type { ErrorLogger, HandlerErrorRecord } from './error-log.js';
export type { MinBudgetOption, ServerContextOptions } from './server-context.js';
