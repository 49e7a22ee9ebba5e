/**
 * A generic gRPC service for tests: one unary method, JSON on the wire (grpc-js serializers, so
 * no proto is needed). Every hop of the test chain speaks it.
 */
import {
  type Client,
  type ClientOptions,
  credentials,
  type Metadata,
  makeGenericClientConstructor,
  type ServiceDefinition,
  type ServiceError,
} from '@grpc/grpc-js';

/** What a hop is told to do: work for a while, then make the listed downstream calls. */
export interface Plan {
  /** Milliseconds the handler works (honouring the context's signal) before calling on. */
  readonly workMs?: number | undefined;
  /** Downstream calls, made in order. */
  readonly calls?: readonly Step[] | undefined;
  /** Set these values in a child context (withValues) before calling on. */
  readonly setValues?: Readonly<Record<string, string>> | undefined;
  /** Throw this from the handler (an unexpected error). */
  readonly fail?: string | undefined;
}

/** One downstream call. */
export interface Step {
  readonly kind: 'grpc' | 'http';
  /** `127.0.0.1:port` for gRPC, a URL for HTTP. */
  readonly target: string;
  readonly plan?: Plan | undefined;
  /** withTimeout(ms) around this call. */
  readonly timeoutMs?: number | undefined;
}

/** What one hop saw and did. */
export interface Report {
  readonly service: string;
  /** Header or metadata entries as received, lowercased names, in order, repeats kept. */
  readonly received: readonly (readonly [string, string])[];
  readonly ctx: {
    readonly traceId: string;
    readonly requestId: string;
    readonly userId: string | null;
    readonly metadata: Readonly<Record<string, string>>;
    /** null without a deadline. */
    readonly remainingMs: number | null;
  };
  readonly children: readonly (Report | StepError)[];
}

/** A downstream call that failed. */
export interface StepError {
  readonly error: { readonly code: number | string; readonly message: string };
}

const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));
const parse = (buf: Buffer): unknown => JSON.parse(buf.toString('utf8'));

/** The Hop service: `/ctxkit.test.Hop/Call`, Plan in, Report out. */
export const hopService: ServiceDefinition = {
  call: {
    path: '/ctxkit.test.Hop/Call',
    requestStream: false,
    responseStream: false,
    requestSerialize: json,
    requestDeserialize: parse,
    responseSerialize: json,
    responseDeserialize: parse,
  },
};

const HopClient = makeGenericClientConstructor(hopService, 'Hop');

/** A Hop client with a promise-returning `call`. */
export interface HopClient {
  call(plan: Plan, options?: { metadata?: Metadata; deadline?: number }): Promise<Report>;
  close(): void;
  readonly raw: Client;
}

/** Creates a client of the Hop service at `target`. */
export function hopClient(target: string, options: ClientOptions = {}): HopClient {
  const client = new HopClient(target, credentials.createInsecure(), options) as unknown as Client & {
    call: (...args: unknown[]) => unknown;
  };
  return {
    raw: client,
    close: () => client.close(),
    call(plan, opts = {}) {
      return new Promise((resolve, reject) => {
        const cb = (err: ServiceError | null, value: Report) => (err ? reject(err) : resolve(value));
        const callOptions = opts.deadline === undefined ? {} : { deadline: opts.deadline };
        if (opts.metadata) client.call(plan, opts.metadata, callOptions, cb);
        else client.call(plan, callOptions, cb);
      });
    },
  };
}

/** Metadata entries as `[key, value]` pairs (binary values base64). */
export function metadataPairs(md: Metadata): [string, string][] {
  const out: [string, string][] = [];
  for (const [k, values] of Object.entries(md.toJSON())) {
    for (const v of values) out.push([k, typeof v === 'string' ? v : v.toString('base64')]);
  }
  return out;
}
