/** The three-hop test chain: edge (Fastify, trust 'edge') → gRPC hop → HTTP hop (Fastify, internal). */
import type { Logger } from 'pino';
import type { Plan, Report, StepError } from './hop-service.ts';
import { type Hop, startFastifyHop, startGrpcHop } from './hops.ts';

/** A started chain. */
export interface Chain {
  readonly edge: Hop;
  readonly grpc: Hop;
  readonly http: Hop;
  /** The plan that sends a request edge → gRPC → HTTP. */
  readonly plan: Plan;
  close(): Promise<void>;
}

/** Starts the chain; every hop logs to `log` when given. */
export async function startChain(log?: Logger, edgeOptions: Parameters<typeof startFastifyHop>[1] = {}): Promise<Chain> {
  const http = await startFastifyHop('http', { trust: 'internal', readBaggage: true, log });
  const grpc = await startGrpcHop('grpc', { log });
  const edge = await startFastifyHop('edge', { log, ...edgeOptions });
  const plan: Plan = { calls: [{ kind: 'grpc', target: grpc.target, plan: { calls: [{ kind: 'http', target: http.target }] } }] };
  return {
    edge,
    grpc,
    http,
    plan,
    async close() {
      await edge.close();
      await grpc.close();
      await http.close();
    },
  };
}

/** The report of a downstream hop, failing loudly when the call failed. */
export function child(report: Report, i = 0): Report {
  const c = report.children[i] as Report | StepError | undefined;
  if (c === undefined) throw new Error(`no child ${i} in ${report.service}`);
  if ('error' in c) throw new Error(`child ${i} of ${report.service} failed: ${JSON.stringify(c.error)}`);
  return c;
}

/** Every value of a received header or metadata key. */
export function valuesOf(report: Report, key: string): string[] {
  return report.received.filter(([k]) => k === key).map(([, v]) => v);
}
