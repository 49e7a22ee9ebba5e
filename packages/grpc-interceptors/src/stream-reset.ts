import type { Server } from '@grpc/grpc-js';

/** Node's limit on RST_STREAM frames a server session accepts: a token bucket. */
export interface StreamResetLimit {
  /** Resets accepted at once. Node's default: 1000. */
  readonly burst: number;
  /** Resets a second once the burst is spent. Node's default: 33. */
  readonly rate: number;
}

/**
 * ctxkit's default: ten times Node's burst and thirty times its rate. A peer still cannot flood a
 * session with resets (the HTTP/2 "rapid reset" attack sends tens of thousands a second).
 */
export const STREAM_RESET_LIMIT: StreamResetLimit = { burst: 10_000, rate: 1_000 };

type WithHttp2Options = { commonServerOptions?: Record<string, unknown> };

/**
 * Raises the rate at which a grpc-js server accepts cancelled calls on one connection. Every
 * cancelled call is an RST_STREAM frame; past Node's limit (a burst of 1000, then 33 a second)
 * the server ends the whole HTTP/2 session, and every other call on it fails with INTERNAL
 * "Received RST_STREAM with code 2". Propagated cancellation makes such bursts ordinary: a
 * gateway losing many clients at once cancels their calls downstream. grpc-js offers no option
 * for Node's `streamResetBurst`/`streamResetRate`, so this sets them where grpc-js keeps the
 * options it passes to `http2.createServer`. Call it before `bindAsync`.
 *
 * @throws RangeError for a limit that is not a positive integer; Error when this grpc-js version
 * keeps no such options (the server would be left as it is).
 * @example
 * const server = new Server({ ...serverKeepalive, interceptors: [serverInterceptor()] });
 * setStreamResetLimit(server);
 * server.bindAsync(address, ServerCredentials.createInsecure(), done);
 */
export function setStreamResetLimit(server: Server, limit: StreamResetLimit = STREAM_RESET_LIMIT): void {
  for (const [name, value] of Object.entries(limit)) {
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new RangeError(`ctxkit: stream reset ${name} must be a positive integer, got ${String(value)}`);
    }
  }
  const options = (server as unknown as WithHttp2Options).commonServerOptions;
  if (typeof options !== 'object' || options === null) {
    throw new Error('ctxkit: this @grpc/grpc-js version keeps no HTTP/2 server options; the stream reset limit cannot be set');
  }
  options.streamResetBurst = limit.burst;
  options.streamResetRate = limit.rate;
}
