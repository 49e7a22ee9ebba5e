// `npm run demo`: starts the example services on 127.0.0.1 ephemeral ports, runs the four
// scenarios against the gateway, draws what every hop saw, stops everything it started, and
// exits non-zero if a scenario did not behave. `npm run demo -- --serve` keeps the services up.
import { SCENARIOS } from './scenarios.ts';
import { Services } from './services.ts';
import { palette, renderOutcome, waterfall } from './waterfall.ts';

const serveMode = process.argv.includes('--serve');
const c = palette(process.stdout.isTTY === true && process.env.NO_COLOR === undefined);
const services = new Services();
let exiting = false;

async function shutdown(code: number, why?: string): Promise<never> {
  if (!exiting) {
    exiting = true;
    if (why !== undefined) console.error(why);
    await services.stop();
  }
  process.exit(code);
}
process.once('SIGINT', () => void shutdown(130, '\ninterrupted: stopping the services'));
process.once('SIGTERM', () => void shutdown(143));
process.once('exit', () => services.killAll());

async function main(): Promise<number> {
  const started = Date.now();
  console.log(c.dim('starting nats-server, redis-server, inventory, billing, fulfilment, orders and gateway on 127.0.0.1 (ephemeral ports)…'));
  await services.start({ echoLogs: serveMode && process.env.DEMO_LOGS === '1' });
  console.log(c.dim(`ready in ${Date.now() - started} ms: ${[...services.ports].map(([s, p]) => (p > 0 ? `${s} :${p}` : s)).join(', ')}\n`));
  if (serveMode) return serve();

  let failed = 0;
  for (const [i, scenario] of SCENARIOS.entries()) {
    try {
      const outcome = await scenario(services);
      console.log(`${renderOutcome(i + 1, outcome, c)}\n`);
      if (outcome.checks.some((check) => !check.ok)) failed++;
    } catch (error) {
      failed++;
      console.log(`${c.red(`${i + 1}. ${scenario.name} failed:`)} ${error instanceof Error ? error.message : String(error)}\n`);
    }
  }
  const verdict = failed === 0 ? c.green(`all ${SCENARIOS.length} scenarios behaved`) : c.red(`${failed} of ${SCENARIOS.length} scenarios did not behave`);
  console.log(`${verdict} ${c.dim(`(${Date.now() - started} ms; service logs in ${services.logDir})`)}`);
  return failed === 0 ? 0 : 1;
}

/** Keeps the services up, prints curl lines, and draws every request that reaches the gateway. */
async function serve(): Promise<number> {
  const url = services.gatewayUrl;
  console.log(`gateway: ${c.bold(url)}   (service logs: ${services.logDir}; DEMO_LOGS=1 echoes them)\n`);
  console.log('try:');
  console.log(`  curl -s -X POST ${url}/orders -H 'authorization: Bearer token-alice' -H 'content-type: application/json' -d '{"sku":"book","quantity":1}'`);
  console.log(`  curl -s ${url}/orders/ord-1 -H 'authorization: Bearer token-alice'`);
  console.log(`  curl -s ${url}/orders/ord-1 -H 'authorization: Bearer token-bob'      # someone else's order: 404`);
  console.log(`  curl -s -X POST ${url}/orders -H 'authorization: Bearer token-alice' -H 'request-timeout-ms: 300' -H 'content-type: application/json' -d '{"sku":"book","quantity":1,"inventoryWorkMs":2000}'`);
  console.log(`  curl -s -X POST ${url}/orders -H 'authorization: Bearer token-alice' -H 'user-id: admin' -H 'traceparent: junk' -H 'content-type: application/json' -d '{"sku":"mug","quantity":1}'`);
  console.log(`  curl -s -X POST ${url}/orders -H 'content-type: application/json' -d '{"sku":"book","quantity":1}'   # no token: 401`);
  console.log(c.dim('\neach order is drawn below once its hops have reported; Ctrl-C stops everything.\n'));
  // A trace is drawn once its gateway hop has ended and the others had a moment to report.
  services.onHop((hop) => {
    if (hop.service !== 'gateway') return;
    setTimeout(() => {
      console.log(`trace ${c.bold(hop.traceId)}   user ${hop.userId || '—'}`);
      console.log(`${waterfall(services.finished(hop.traceId), c).join('\n')}\n`);
    }, 300);
  });
  await new Promise(() => {}); // until Ctrl-C
  return 0;
}

main().then(
  (code) => shutdown(code),
  (error: unknown) => shutdown(1, `demo failed: ${error instanceof Error ? error.message : String(error)}`),
);
