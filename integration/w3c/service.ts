/**
 * The test service the W3C Trace Context suite drives (its `test/README.md`, "Implement Test
 * Service"): a Fastify service with the ctxkit plugin whose handler makes, one after the other,
 * the calls the harness asks for, with `ctxFetch`. `W3C_MODE=otel` starts the OpenTelemetry SDK
 * first, set up as the core README shows; otherwise no tracer runs. It prints `listening <port>`.
 */
const otel = process.env.W3C_MODE === 'otel';
if (otel) await import('./otel.ts');

const { default: Fastify } = await import('fastify');
const { ctxkit } = await import('@ctxkit/fastify');
const { ctxFetch } = await import('@ctxkit/core/fetch');

/** One call the harness asks for: POST `arguments` as JSON to `url`. */
interface Action {
  readonly url: string;
  readonly arguments: unknown;
}

const app = Fastify();
await app.register(ctxkit);
app.post('/test', async (request) => {
  const actions = Array.isArray(request.body) ? (request.body as Action[]) : [];
  for (const action of actions) {
    const res = await ctxFetch(action.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(action.arguments ?? []),
    });
    await res.arrayBuffer();
  }
  return {};
});
const address = await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 0) });
console.log(`listening ${new URL(address).port}`);
