/** A server process started for a test. */
export interface TestServer {
    readonly port: number;
    /** `127.0.0.1:<port>` */
    readonly address: string;
    /** Kills the process and waits for it to exit. Idempotent. */
    stop(): Promise<void>;
}
/** What nats-server's monitoring endpoint says about itself (the fields tests read). */
export interface NatsVarz {
    /** Subscriptions open on the server, all connections together. */
    readonly subscriptions: number;
    readonly connections: number;
    readonly in_msgs: number;
}
/** Starts `nats-server` on 127.0.0.1 (with JetStream, in a temporary store, when asked). */
export declare function startNats(options?: {
    jetstream?: boolean;
}): Promise<TestServer & {
    varz(): Promise<NatsVarz>;
}>;
/** Starts `redis-server` on 127.0.0.1, in memory only. */
export declare function startRedis(): Promise<TestServer>;
