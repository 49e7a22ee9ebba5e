import { channel } from 'node:diagnostics_channel';
import type { Drop } from './drops.js';
import type { MissingContextMode } from './lost-context.js';

/**
 * The `node:diagnostics_channel` channel on which every dropped incoming value is published,
 * whatever `onDrop` handler the adapter has, as a {@link DropMessage}. APM tools subscribe with
 * `diagnostics_channel.subscribe(DROP_CHANNEL, fn)`. Nothing is built when nobody subscribes.
 */
export const DROP_CHANNEL = 'ctxkit:drop';

/**
 * The channel on which every call made outside any request context (a lost context) is
 * published, as a {@link MissingContextMessage}, whatever the `missingContext` mode.
 */
export const MISSING_CONTEXT_CHANNEL = 'ctxkit:missing-context';

/**
 * The channel on which every request refused before its handler ran (see `refusedRequests()`)
 * is published, as a {@link RefusedMessage}. Nothing is built when nobody subscribes.
 */
export const REFUSED_CHANNEL = 'ctxkit:refused';

/** What {@link REFUSED_CHANNEL} publishes. */
export interface RefusedMessage {
  /** The route or method, e.g. `'GET /orders'` or `'/shop.Orders/Create'`. */
  readonly what: string;
  /** What was left of the budget when the request was refused, ms (`Infinity`: no deadline). */
  readonly remainingMs: number;
  /** The least time the route or method declared it needs, ms (0: only a passed deadline refuses). */
  readonly minBudgetMs: number;
  /** What the request was answered with: `DeadlineExceededError`, or the context's abort reason. */
  readonly reason: Error;
  readonly traceId: string;
  readonly requestId: string;
  /** What the adapter serves: the Fastify request, the Express `req`, the gRPC call. */
  readonly origin: unknown;
}

/** What {@link DROP_CHANNEL} publishes. */
export interface DropMessage {
  readonly drop: Drop;
  /** What the adapter serves: the Fastify request, the Express `req`, the gRPC call. */
  readonly origin: unknown;
}

/** What {@link MISSING_CONTEXT_CHANNEL} publishes. */
export interface MissingContextMessage {
  /** The call made without a context, e.g. `'fetch'` or `'gRPC call /shop.Orders/Create'`. */
  readonly what: string;
  /** The first stack frame outside ctxkit, Node and node_modules: where the context was lost. */
  readonly site: string;
  readonly mode: MissingContextMode;
}

// Node keeps one channel per name for the process, so two loaded copies of core publish on the
// same channels; a channel object is stateless here (its subscribers are Node's).
/** @internal */
export const dropChannel = channel(DROP_CHANNEL);
/** @internal */
export const refusedChannel = channel(REFUSED_CHANNEL);
/** @internal */
export const missingContextChannel = channel(MISSING_CONTEXT_CHANNEL);
