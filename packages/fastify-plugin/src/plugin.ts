import { type DeadlineExceededError, type RequestContext, runWithContext, tryCurrentContext } from '@ctxkit/core';
import { type Admission, compileAdmission, compileHttpContext, type HttpContextStarter } from '@ctxkit/core/adapter';
import type {
  FastifyInstance,
  FastifyPluginCallback,
  FastifyRequest,
  preHandlerHookHandler,
  RouteOptions,
} from 'fastify';
import fp from 'fastify-plugin';
import { HandlerTimeoutReply, replyDeadline, sendDeadline, sendRefusal } from './deadline-reply.js';
import { guardHandler } from './handler-guard.js';
import type { CtxkitFastifyOptions } from './options.js';
import { compileLogBinder, type LogBinder } from './request-log.js';
import { compileResolveUserHook } from './resolve-user.js';

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * This request's ctxkit context (ids, deadline, cancellation, propagated values), set by
     * the `@ctxkit/fastify` plugin in its `onRequest` hook. The same object
     * `currentContext()` returns anywhere in the request.
     */
    ctx: RequestContext;
  }
  interface FastifyContextConfig {
    /**
     * The least time, ms, this route needs to answer usefully. A request whose remaining budget
     * is below it (or whose deadline has passed, or whose client has left) is refused in
     * `@ctxkit/fastify`'s `onRequest` hook, before any later hook, the body and the handler:
     * HTTP 504 with ctxkit's error body, counted in `refusedRequests()` under
     * `'<METHOD> <route url>'` and published on `REFUSED_CHANNEL`. Default: none (every
     * request runs, as without the option). A request without a deadline is never refused for
     * its budget.
     *
     * @example
     * app.get('/report', { config: { minBudgetMs: 200 } }, buildReport);
     */
    minBudgetMs?: number | undefined;
  }
}

/** Where a route's compiled admission check sits in its config. */
const ADMISSION = Symbol('ctxkit.admission');
type AdmissionConfig = { [ADMISSION]?: Admission };

function registerCtxkit(fastify: FastifyInstance, options: CtxkitFastifyOptions, next: (err?: Error) => void): void {
  // Fastify's null logger (logger: false) is its own child: then there is nothing to bind ids
  // to nor to log a 499 with, and the per-request bindings are skipped.
  const logging = typeof fastify.log.child === 'function' && fastify.log.child({}) !== fastify.log;
  let starter: HttpContextStarter<FastifyRequest>;
  try {
    // Ids are echoed through reply.header below: a header set on the raw response would make
    // Fastify's writeHead merge all its headers through setHeader (measured ~0.6 µs a request).
    // Log field names are checked only when there is a logger to bind them to.
    starter = compileHttpContext<FastifyRequest>(options, {
      onClientLeft: logging ? logClientLeft : undefined,
      echoesIds: true,
      logFieldNames: logging ? options.logFieldNames : undefined,
    });
  } catch (error) {
    next(error as Error);
    return;
  }
  const start = starter;
  const log: LogBinder | undefined = logging ? compileLogBinder(start.logFieldNames) : undefined;
  const echo = start.echoedIds;
  const echoTrace = echo.includes('trace-id');
  const echoRequest = echo.includes('request-id');
  const serverCap = (fastify.initialConfig as { handlerTimeout?: number }).handlerTimeout ?? 0;
  let routeCaps = serverCap > 0;
  // Reading request.routeOptions builds an object: only once some route declares a budget.
  let routeBudgets = false;
  const resolveUserHook =
    options.resolveUser === undefined ? undefined : compileResolveUserHook(start, options.resolveUser, log);

  const guardOptions = { resolveUser: options.resolveUser, log };

  fastify.decorateRequest('ctx', null as unknown as RequestContext);
  // Middleware that @fastify/middie runs (Nest's, once NestFactory.create() registered it) comes
  // from an onRequest hook added before ours: it would run outside any context. Said once, here.
  if (fastify.hasPlugin('@fastify/middie')) {
    process.emitWarning(
      '@ctxkit/fastify is registered after @fastify/middie: middleware it runs (Nest middleware) sees no ' +
        'context. Register ctxkit first (on NestJS: on the FastifyAdapter, before NestFactory.create()).',
      { code: 'CTXKIT_FASTIFY_ORDER' },
    );
  }

  fastify.addHook('onRoute', function ctxkitOnRoute(route: RouteOptions) {
    if ((route.handlerTimeout ?? 0) > 0) routeCaps = true;
    const minBudgetMs = route.config?.minBudgetMs;
    if (minBudgetMs !== undefined) {
      // Compiled once per route (a bad figure throws from app.route()); Fastify copies the route's
      // config, symbol keys included, into what request.routeOptions.config returns.
      const admit = compileAdmission(minBudgetMs, `${String(route.method)} ${route.url}`);
      route.config = { ...route.config, [ADMISSION]: admit } as typeof route.config;
      routeBudgets = true;
    }
    const guarded = guardHandler(route.handler, guardOptions);
    if (guarded !== undefined) route.handler = guarded;
    // A handler the guard leaves alone (not async) gets resolveUser as its last preHandler hook.
    else if (resolveUserHook !== undefined) route.preHandler = appendHook(route.preHandler, resolveUserHook);
  });

  fastify.addHook('onRequest', function ctxkitOnRequest(request, reply, done) {
    // Another ctxkit adapter already serves this exchange (the Express middleware, run by Nest's
    // middleware engine before this hook): join its context; its deadline and disconnect are its own.
    const joined = start.contextOf(reply.raw);
    if (joined !== undefined) {
      request.ctx = joined;
      if (log !== undefined) log.ids(request, reply, joined);
      runWithContext(joined, done);
      return;
    }
    // A route's handlerTimeout caps the budget, so the context never outlives the moment Fastify
    // gives up on the handler: the smaller budget wins and both answer 504. Reading routeOptions
    // builds an object: only when some route has a handler timeout.
    const route = routeCaps || routeBudgets ? request.routeOptions : undefined;
    const cap = route?.handlerTimeout;
    const capped = cap !== undefined && cap > 0;
    // Not request.id as the chain's request id: Fastify's default is a per-process counter
    // (req-1, req-2…), the same in every replica, and requestIdHeader takes it from any client.
    // The chain's id is a trusted proxy's or a random one; request.id stays Fastify's, for its logs.
    const ctx = start.start(request.raw, reply.raw, undefined, capped ? cap : undefined, request);
    request.ctx = ctx;
    // With a handler timeout Fastify already made request.signal: listening costs no allocation.
    if (capped) request.signal.addEventListener('abort', new HandlerTimeoutReply(request, reply), { once: true });
    if (echoTrace) reply.header('trace-id', ctx.traceId);
    if (echoRequest) reply.header('request-id', ctx.requestId);
    if (log !== undefined) log.ids(request, reply, ctx);
    if (ctx.deadline !== undefined) {
      // Times the deadline in core's shared queue; no signal, listener or object per request.
      const aborted = start.onAbort(ctx, replyDeadline, reply);
      if (aborted !== undefined) {
        // Answered from the hook, without done(): no later hook, nor the handler, runs.
        runWithContext(ctx, sendDeadline, request, reply, aborted as DeadlineExceededError);
        return;
      }
    }
    const admit = (route?.config as AdmissionConfig | undefined)?.[ADMISSION];
    if (admit !== undefined) {
      const refused = admit(ctx, `${request.method} ${route!.url}`, request);
      if (refused !== undefined) {
        // Answered from the hook, without done(): no later hook, no body parsing, no handler.
        runWithContext(ctx, sendRefusal, request, reply, refused);
        return;
      }
    }
    runWithContext(ctx, done);
  });

  // Code that resumes from stream events or callback queues runs outside the context onRequest
  // entered (https://github.com/nodejs/node/issues/34430): body parsers in Fastify releases that
  // do not restore it themselves, and any onRequest/preParsing hook calling done() from such a
  // callback. Re-enter before validation, so preValidation, preHandler, the handler and all
  // after run in it; when the context is intact (the usual case) this costs one getStore().
  fastify.addHook('preValidation', function ctxkitPreValidation(request, _reply, done) {
    const ctx = request.ctx;
    if (ctx === null || tryCurrentContext() === ctx) done();
    else runWithContext(ctx, done);
  });

  // No setErrorHandler: the application's error handler is the application's (ctxkit's own
  // 504 is written directly). ctxkitErrorHandler and composeErrorHandler are offered instead.
  next();
}

/** The client went away before the reply was complete: logged as 499. */
function logClientLeft(request: FastifyRequest): void {
  request.log.info({ statusCode: 499 }, 'client disconnected');
}

function appendHook(
  existing: RouteOptions['preHandler'],
  hook: preHandlerHookHandler,
): preHandlerHookHandler | preHandlerHookHandler[] {
  if (existing === undefined) return hook;
  return Array.isArray(existing) ? [...existing, hook] : [existing as preHandlerHookHandler, hook];
}

/**
 * The ctxkit plugin for Fastify 5: every request runs in a ctxkit context, current in every hook
 * from `onRequest` on, in the handler and in everything they await, so downstream gRPC and HTTP
 * calls carry its ids, deadline and cancellation. Register it before routes and before plugins
 * whose hooks should see the context.
 *
 * @throws RangeError at registration for a negative or non-finite timeout option.
 * @example
 * const app = Fastify({ logger: true });
 * app.setErrorHandler(ctxkitErrorHandler); // optional: errors as `{ code, message, traceId }`
 * await app.register(ctxkit, {
 *   defaultTimeoutMs: 5_000,
 *   maxTimeoutMs: 30_000,
 *   resolveUser: (request) => request.user?.sub,
 * });
 * app.get('/orders', async (request) => orders.list({ user: request.ctx.userId }));
 */
export const ctxkit: FastifyPluginCallback<CtxkitFastifyOptions> = fp(registerCtxkit, {
  name: '@ctxkit/fastify',
  fastify: '5.x',
});
