import { describe } from 'vitest';
import { relayChain } from './chains.ts';
import { startPythonRelay } from './support/peers.ts';

describe('ctxkit edge → Python (grpcio) → ctxkit leaf', () => {
  relayChain(startPythonRelay, { name: 'python', deadline: 'deadline exceeded', cancelled: 'cancelled', readsTrace: false });
});
