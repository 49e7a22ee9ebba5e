/**
 * @ctxkit/express — the Express 4 and 5 middleware: every request runs in a ctxkit context,
 * and everything it awaits, parses or listens to carries it on.
 * @packageDocumentation
 */

export { ctxkit } from './middleware.js';
export { ctxkitErrorHandler } from './error-handler.js';
export { requireBudget } from './budget.js';
export type { RequireBudgetOptions } from './budget.js';
export type { CtxkitExpressOptions } from './options.js';
export type { ErrorHandlerOptions, ErrorLogFields, ErrorLogger } from './error-handler.js';
