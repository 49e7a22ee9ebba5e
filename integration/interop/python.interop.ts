import { describe } from 'vitest';
import { relayChain } from './chains.ts';
import { startPythonRelay } from './support/peers.ts';

/** gRPC C-core's `grpc-timeout` precision for a budget of `ms` (three significant figures, up). */
const cCoreRoundsUpMs = (ms: number): number => (ms < 1_000 ? 0 : ms < 10_000 ? 10 : ms < 100_000 ? 100 : 1_000);

describe('ctxkit edge → Python (grpcio) → ctxkit leaf', () => {
  relayChain(startPythonRelay, {
    name: 'python',
    deadline: 'deadline exceeded',
    cancelled: 'cancelled',
    readsTrace: false,
    roundsUpMs: cCoreRoundsUpMs,
  });
});
