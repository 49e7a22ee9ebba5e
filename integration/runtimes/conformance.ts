/**
 * ctxkit's conformance suite, for every runtime it supports: run it directly with the runtime
 * (`node`, `bun`, `deno run -A`) against the built packages; it prints one line per probe and
 * case, then `N passed, N failed`, and exits non-zero on a failure. `driver.ts` runs it on the
 * whole matrix. An argument runs one case or probe by id.
 */
import { runAll, runtimeName } from './harness.ts';
import { adapterCases } from './cases/adapters.ts';
import { coreCases } from './cases/core.ts';
import { grpcCases } from './cases/grpc.ts';
import { httpCases } from './cases/http.ts';
import { trapCases, trapProbes } from './cases/traps.ts';

console.log(`runtime ${runtimeName()}`);
const failed = await runAll(trapProbes, [...coreCases, ...httpCases, ...adapterCases, ...grpcCases, ...trapCases], process.argv[2]);
// Exit explicitly: a runtime that keeps a handle open (an agent's idle socket) must not hang the driver.
process.exit(failed === 0 ? 0 : 1);
