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
export const missingContextChannel = channel(MISSING_CONTEXT_CHANNEL);
