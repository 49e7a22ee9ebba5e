// Server CPU time per request (µs) of each way of carrying a request context in Express,
// against bare Express. CPU time is steadier than throughput on a shared machine; each variant
// runs in its own process, rounds interleave the variants, the median is reported.
// usage (build first): node bench/run.mjs [express major 4|5] [requests per run]
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { Pool } from 'undici';

const major = process.argv[2] ?? '5';
const count = Number(process.argv[3] ?? 20_000);
const rounds = Number(process.env.ROUNDS ?? 5);
const variants = (process.env.VARIANTS ?? 'bare,als,rtracer-like,ctxkit,ctxkit+deadline').split(',');
const server = new URL('server.cjs', import.meta.url).pathname;

async function load(pool, method) {
  const body = method === 'POST' ? JSON.stringify({ a: 1, b: 'x'.repeat(200) }) : undefined;
  const headers = { 'trace-id': '0af7651916cd43dd8448eb211c80319c', 'content-type': 'application/json' };
  let left = count;
  async function worker() {
    while (left-- > 0) {
      const r = await pool.request({ path: '/', method, headers, body });
      await r.body.dump();
    }
  }
  await (await pool.request({ path: '/cpu/reset', method: 'GET' })).body.dump();
  await Promise.all(Array.from({ length: 50 }, worker));
  return Number(await (await pool.request({ path: '/cpu', method: 'GET' })).body.text()) / count;
}

const results = {};
for (let round = 0; round < rounds; round++) {
  for (const variant of variants) {
    const child = spawn(process.execPath, [server], {
      env: { ...process.env, VARIANT: variant, EXPRESS: major },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const [chunk] = await once(child.stdout, 'data');
    const pool = new Pool(`http://127.0.0.1:${Number(String(chunk).trim())}`, { connections: 50 });
    await load(pool, 'GET'); // warm-up
    const get = await load(pool, 'GET');
    const post = await load(pool, 'POST');
    await pool.close();
    child.kill();
    await once(child, 'exit');
    (results[variant] ??= []).push({ get, post });
  }
}
const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const of = (v, k) => median(results[v].map((r) => r[k]));
const delta = (v, k) => {
  const d = of(v, k) - of(variants[0], k); // the first variant is the baseline
  return `${d >= 0 ? '+' : ''}${d.toFixed(1)}`;
};
console.log(`Express ${major}, Node ${process.version}: server CPU µs/request, median of ${rounds} rounds × ${count} requests`);
console.log('variant          GET            POST (express.json)');
for (const v of variants) {
  console.log(`${v.padEnd(16)} ${of(v, 'get').toFixed(1).padStart(5)} (${delta(v, 'get').padStart(5)})   ${of(v, 'post').toFixed(1).padStart(5)} (${delta(v, 'post').padStart(5)})`);
}
