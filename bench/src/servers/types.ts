/** A started benchmark server. */
export interface App {
  readonly port: number;
  close(): Promise<void>;
  /** Counters the app keeps (for checking that a variant did what it claims). */
  stats?(): Record<string, unknown>;
}

/** What the orchestrator passes to a server: where its upstream listens, and tuning. */
export interface AppConfig {
  /** `127.0.0.1:port` of the next gRPC hop, for gateways and middle services. */
  readonly upstream?: string;
  /** Role of a gRPC server: `echo` (scenario 3), `middle` (calls upstream) or `leaf`. */
  readonly role?: 'echo' | 'middle' | 'leaf';
}

/** The reply body every HTTP variant sends: same shape and size, one context read. */
export function helloBody(id: unknown): { hello: string; id: string } {
  return { hello: 'world', id: typeof id === 'string' ? id : String(id) };
}

/** What the bare variants put where the others put an id read from their context (32 chars). */
export const CONSTANT_ID = '0af7651916cd43dd8448eb211c80319c';
