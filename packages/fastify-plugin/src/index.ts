/**
 * @ctxkit/fastify — the Fastify 5 plugin: every request runs in a ctxkit context, from
 * `onRequest` to `onResponse`, and everything it awaits carries it on.
 * @packageDocumentation
 */

export { ctxkit, ctxkit as default } from './plugin.js';
export { ctxkitErrorHandler, composeErrorHandler } from './error-handler.js';
export type { CtxkitFastifyOptions } from './options.js';
export type { FastifyErrorHandler } from './error-handler.js';
