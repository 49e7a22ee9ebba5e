/** The rolling-restart test's one gRPC method, with JSON messages (no .proto needed). */
import type * as grpc from '@grpc/grpc-js';

/** How long a stopping replica lets calls in flight finish, ms; longer work is cancelled. */
export const DRAIN_MS = 150;
/** Work that outlasts the drain budget, ms: a replica stopped while it runs cancels it. */
export const LONG_MS = 1_500;

export interface Work {
  readonly ms: number;
}
export interface Reply {
  readonly replica: string;
  readonly pid: number;
  /** `grpc-previous-rpc-attempts` as the replica received it: > 0 for a retry. */
  readonly attempt: number;
}

const json = <T>() => ({
  serialize: (value: T) => Buffer.from(JSON.stringify(value)),
  deserialize: (bytes: Buffer) => JSON.parse(bytes.toString()) as T,
});
const request = json<Work>();
const reply = json<Reply>();

export const WorkService = {
  work: {
    path: '/restart.Replica/Work',
    requestStream: false,
    responseStream: false,
    requestSerialize: request.serialize,
    requestDeserialize: request.deserialize,
    responseSerialize: reply.serialize,
    responseDeserialize: reply.deserialize,
  },
} satisfies grpc.ServiceDefinition;
