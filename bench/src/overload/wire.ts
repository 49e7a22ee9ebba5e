/** What the overload scenario's gRPC client and service share: the method, JSON on the wire. */

/** The gRPC service's one method (no .proto to load). */
export const WORK_METHOD = '/overload.Work/Do';

export const serializeJson = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));
export const deserializeJson = (bytes: Buffer): unknown => JSON.parse(bytes.toString());
