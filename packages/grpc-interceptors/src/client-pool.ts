import type { ChannelCredentials, ChannelOptions, Client, Interceptor } from '@grpc/grpc-js';
import { type ClientInterceptorOptions, clientInterceptor } from './client-interceptor.js';
import { channelKeepalive } from './keepalive.js';

/** A grpc-js client constructor, generated or from `@grpc/proto-loader`. */
export type ClientConstructor<C extends Client = Client> = new (
  address: string,
  credentials: ChannelCredentials,
  options?: ChannelOptions,
) => C;

/** Options of {@link ClientPool}. */
export interface ClientPoolOptions {
  /** Credentials of every channel, e.g. `credentials.createInsecure()` inside a mesh. */
  readonly credentials: ChannelCredentials;
  /**
   * Channel options. Default {@link channelKeepalive}, which servers in other languages accept at
   * their default keepalive enforcement.
   */
  readonly channelOptions?: ChannelOptions | undefined;
  /** Client interceptors. Default: one {@link clientInterceptor} with `interceptorOptions`. */
  readonly interceptors?: readonly Interceptor[] | undefined;
  /** Options of the default client interceptor. */
  readonly interceptorOptions?: ClientInterceptorOptions | undefined;
}

/**
 * One client per service and target, created on first use and reused by every request after, as
 * Go shares one `ClientConn` instead of dialling per call; `close()` closes them all at shutdown.
 *
 * @example
 * const pool = new ClientPool({ credentials: credentials.createInsecure() });
 * const orders = pool.get(pkg.Orders, 'orders:50051');
 * process.once('SIGTERM', () => pool.close());
 */
export class ClientPool {
  readonly #clients = new Map<Function, Map<string, Client>>();
  readonly #options: ChannelOptions;
  readonly #credentials: ChannelCredentials;
  #closed = false;

  constructor(options: ClientPoolOptions) {
    this.#credentials = options.credentials;
    const interceptors = options.interceptors ?? [clientInterceptor(options.interceptorOptions)];
    this.#options = { ...(options.channelOptions ?? channelKeepalive), interceptors: [...interceptors] };
  }

  /**
   * The client of `service` for `target`, created on first use.
   * @throws Error after {@link ClientPool.close}.
   */
  get<C extends Client>(service: ClientConstructor<C>, target: string): C {
    if (this.#closed) throw new Error('ctxkit: ClientPool.get() after close()');
    let byTarget = this.#clients.get(service);
    if (byTarget === undefined) {
      byTarget = new Map();
      this.#clients.set(service, byTarget);
    }
    let client = byTarget.get(target) as C | undefined;
    if (client === undefined) {
      client = new service(target, this.#credentials, this.#options);
      byTarget.set(target, client);
    }
    return client;
  }

  /** How many clients the pool holds. */
  get size(): number {
    let n = 0;
    for (const byTarget of this.#clients.values()) n += byTarget.size;
    return n;
  }

  /** Closes every client; calls in flight fail with UNAVAILABLE or CANCELLED. Idempotent. */
  close(): void {
    this.#closed = true;
    for (const byTarget of this.#clients.values()) for (const client of byTarget.values()) client.close();
    this.#clients.clear();
  }
}
