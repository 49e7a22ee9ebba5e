import { AsyncLocalStorage } from 'node:async_hooks';
import type { RequestContext } from './context.js';
import type { KeyDefinition } from './schema.js';
import { warnRuntimeGaps } from './runtime.js';

/**
 * The process-wide state of ctxkit. It lives on `globalThis` under a `Symbol.for` key so that
 * every loaded copy of this package (ESM and CJS builds, or two versions) shares one storage
 * and one key registry; otherwise a context set through one copy would be invisible to the other.
 */
interface Slot {
  readonly shape: 1;
  readonly als: AsyncLocalStorage<RequestContext>;
  readonly keys: Map<string, KeyDefinition>;
  readonly drops: Map<string, number>;
  /** Refused requests by route or method; created by the first refusal (a copy of core from
   * before admission shares a slot without it). */
  refusals?: Map<string, number> | undefined;
  /** A tracing bridge (OpenTelemetry), when one is enabled. */
  bridge?: TracingBridge | undefined;
}

/**
 * What a tracing system (the OpenTelemetry bridge) lends ctxkit: the active span's trace id, so
 * that new contexts share it, and a place to record a context's ids on the active span.
 * @internal
 */
export interface TracingBridge {
  /** The active span's trace id, when there is a valid one. */
  activeTraceId(): string | undefined;
  /** Called when an adapter created a context or its user id was assigned. */
  annotate(ctx: RequestContext): void;
  /**
   * Starts the span of one outgoing call and writes its trace context into `sink` (never over a
   * header already there). `false` when the transport's own instrumentation does both (then
   * nothing was written).
   */
  startCall(call: OutgoingCallInfo, sink: TraceSink): CallSpan | false;
  /**
   * Runs `fn` (the processing of one message or job, already under `ctx`) in the tracer's
   * consumer span, a child of the trace context `ctx` received; ends it when `fn` settles.
   */
  runConsumer?<R>(info: IncomingMessageInfo, ctx: RequestContext, fn: () => R): R;
}

/** What a tracer is told of an outgoing call. */
export interface OutgoingCallInfo {
  readonly transport: 'http' | 'grpc' | 'messaging';
  /** HTTP: the method; gRPC: the full method path (`/pkg.Service/Method`); messaging: the operation (`publish`, `request`, `add`). */
  readonly method: string;
  /** HTTP: the URL; gRPC: the target; messaging: the destination (subject, queue). */
  readonly target: string;
  /** Messaging: the system (`nats`, `bullmq`), as OpenTelemetry's `messaging.system` names it. */
  readonly system?: string;
}

/** What a tracer is told of a message (or job) being processed. */
export interface IncomingMessageInfo {
  /** The system (`nats`, `bullmq`). */
  readonly system: string;
  /** The destination it was sent to (subject, queue). */
  readonly destination: string;
}

/** Headers or metadata being prepared for one call: where the tracer writes its trace context. */
export interface TraceSink {
  has(key: string): boolean;
  set(key: string, value: string): void;
}

/** The span of one outgoing call. */
export interface CallSpan {
  /** Ends it with the HTTP status or gRPC code, or the error the call failed with. */
  end(status: number | undefined, error: unknown): void;
}

const KEY = Symbol.for('ctxkit.core');
const g = globalThis as unknown as Record<symbol, Slot | undefined>;

function createSlot(): Slot {
  return { shape: 1, als: new AsyncLocalStorage(), keys: new Map(), drops: new Map(), bridge: undefined };
}

const existing = g[KEY];
if (existing !== undefined && existing.shape !== 1) {
  // A future copy changed the slot's shape: sharing it silently would be worse than failing.
  throw new Error(
    `@ctxkit/core: another copy of ctxkit with an incompatible storage (shape ${String(existing.shape)}) ` +
      'is loaded in this process; install one version of @ctxkit/core.',
  );
}

/** The one shared slot. */
export const slot: Slot = existing ?? createSlot();
if (existing === undefined) {
  g[KEY] = slot;
  warnRuntimeGaps(); // once per process: the first copy of ctxkit to load creates the slot
}

/** The one AsyncLocalStorage holding the current request context. */
export const als: AsyncLocalStorage<RequestContext> = slot.als;
