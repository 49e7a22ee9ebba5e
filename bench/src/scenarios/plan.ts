import type { RoundsPlan } from '../lib/rounds.ts';

/** Durations and counts of one mode (full or quick). */
export interface Plan {
  readonly quick: boolean;
  /** HTTP and gRPC load scenarios (1–4). */
  readonly load: RoundsPlan;
  /** Micro benchmarks: rounds, and the length of one timed batch, ms. */
  readonly micro: { readonly rounds: number; readonly batchMs: number };
  /** Soak: requests before the first checkpoint, and the checkpoints (cumulative requests). */
  readonly soak: { readonly warmup: number; readonly checkpoints: readonly number[]; readonly timeLimitS: number };
  /**
   * The server-bound HTTP scenarios (S1b, S2b): autocannon with more connections and pipelining,
   * so the server, not the load generator, is the bottleneck; shorter slices, as the issue measured.
   */
  readonly serverBound: RoundsPlan & { readonly connections: number; readonly pipelining: number };
  /** HTTP connections, gRPC calls in flight. */
  readonly connections: number;
  readonly inflight: number;
}

/**
 * The full run: every load figure is the median of 5 runs of 4 s after a 3 s warm-up, which
 * keeps the whole benchmark near 11 minutes on 2 cores. Every run also stops at 2 M requests.
 */
export const FULL: Plan = {
  quick: false,
  load: { rounds: 5, warmupS: 3, runS: 4, maxRequests: 2_000_000 },
  micro: { rounds: 7, batchMs: 150 },
  soak: { warmup: 10_000, checkpoints: [50_000, 100_000, 200_000], timeLimitS: 240 },
  serverBound: { rounds: 4, warmupS: 2, runS: 2, maxRequests: 2_000_000, connections: 100, pipelining: 10 },
  connections: 50,
  inflight: 64,
};

/** The smoke test: every scenario and variant runs, briefly; figures are not meant to be read. */
export const QUICK: Plan = {
  quick: true,
  load: { rounds: 2, warmupS: 0.5, runS: 0.6, maxRequests: 200_000 },
  micro: { rounds: 3, batchMs: 20 },
  soak: { warmup: 300, checkpoints: [700, 1400, 2800], timeLimitS: 30 },
  serverBound: { rounds: 2, warmupS: 0.5, runS: 0.6, maxRequests: 200_000, connections: 100, pipelining: 10 },
  connections: 50,
  inflight: 64,
};
