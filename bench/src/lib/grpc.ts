import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type * as GrpcJs from '@grpc/grpc-js';
import type * as ProtoLoader from '@grpc/proto-loader';

const require = createRequire(import.meta.url);
const protoFile = fileURLToPath(new URL('../../proto/echo.proto', import.meta.url));

/** The request of the benchmark's Echo service. */
export interface EchoRequest {
  text: string;
  count: number;
  workMs: number;
}

/** The reply of the benchmark's Echo service. */
export interface EchoReply {
  text: string;
  id: string;
}

/** A generic grpc-js client of the Echo service. */
export interface EchoClient extends GrpcJs.Client {
  Unary(req: EchoRequest, md: GrpcJs.Metadata, opts: GrpcJs.CallOptions, cb: (err: GrpcJs.ServiceError | null, reply?: EchoReply) => void): GrpcJs.ClientUnaryCall;
  Stream(req: EchoRequest, md: GrpcJs.Metadata, opts?: GrpcJs.CallOptions): GrpcJs.ClientReadableStream<EchoReply>;
}

/**
 * Loads @grpc/grpc-js with `require`, so that an OpenTelemetry instrumentation started before
 * (require-in-the-middle) patches it; callers load it only after the SDK is up.
 */
export function loadGrpc(): typeof GrpcJs {
  return require('@grpc/grpc-js') as typeof GrpcJs;
}

/** The Echo service definition and its client constructor. */
export function loadEcho(grpc: typeof GrpcJs): { service: GrpcJs.ServiceDefinition; Client: new (address: string, creds: GrpcJs.ChannelCredentials, options?: GrpcJs.ChannelOptions) => EchoClient } {
  const loader = require('@grpc/proto-loader') as typeof ProtoLoader;
  const def = loader.loadSync(protoFile, { keepCase: false, longs: Number, defaults: true, oneofs: true });
  const pkg = grpc.loadPackageDefinition(def) as unknown as {
    ctxkit: { bench: { v1: { Echo: GrpcJs.ServiceClientConstructor } } };
  };
  const Echo = pkg.ctxkit.bench.v1.Echo;
  return { service: Echo.service, Client: Echo as unknown as new (address: string, creds: GrpcJs.ChannelCredentials, options?: GrpcJs.ChannelOptions) => EchoClient };
}
