// One Express server for one variant of context propagation; prints its port. Driven by
// bench/run.mjs, which measures the server's CPU time per request.
'use strict';
const { AsyncLocalStorage, AsyncResource } = require('node:async_hooks');
const express = require(process.env.EXPRESS === '4' ? 'express4' : 'express');
const { ctxkit } = require('@ctxkit/express');
const { runWithContext } = require('@ctxkit/core');
const { compileHttpContext } = require('@ctxkit/core/adapter');

const variant = process.env.VARIANT;
const als = new AsyncLocalStorage();

// cls-rtracer 2.x's Express middleware, reduced to its mechanism (cls-rtracer is not a
// dependency here): an AsyncLocalStorage run() plus one AsyncResource per request whose scope
// every req/res emit re-enters through a per-request closure.
function rtracerLike(req, res, next) {
  als.run({ id: req.headers['trace-id'] }, () => {
    const resource = new AsyncResource('rtracer-like');
    for (const emitter of [req, res]) {
      const original = emitter.emit;
      emitter.emit = (type, ...args) => resource.runInAsyncScope(original, emitter, type, ...args);
    }
    next();
  });
}

const app = express();
let mark = process.cpuUsage();
app.get('/cpu/reset', (req, res) => {
  mark = process.cpuUsage();
  res.end('ok');
});
app.get('/cpu', (req, res) => {
  const d = process.cpuUsage(mark);
  res.end(String(d.user + d.system));
});
if (variant === 'als') app.use((req, res, next) => als.run({ id: req.headers['trace-id'] }, next));
if (variant === 'rtracer-like') app.use(rtracerLike);
// ctxkit's parts: core's context start alone (extract, echo headers, close listener) + run().
const start = compileHttpContext({ trust: 'internal' });
if (variant === 'core-start') app.use((req, res, next) => runWithContext(start(req, res), next));
if (variant === 'start+own-emit') {
  app.use((req, res, next) => {
    req.emit = req.emit;
    res.emit = res.emit;
    runWithContext(start(req, res), next);
  });
}
if (variant === 'start+props') {
  const S = Symbol('s');
  app.use((req, res, next) => {
    const ctx = start(req, res);
    req[S] = ctx;
    res[S] = ctx;
    runWithContext(ctx, next);
  });
}
if (variant === 'ctxkit') app.use(ctxkit());
if (variant === 'ctxkit+deadline') app.use(ctxkit({ defaultTimeoutMs: 30_000 }));
app.get('/', (req, res) => res.end('ok'));
app.post('/', express.json(), (req, res) => res.json(req.body));
const server = app.listen(0, '127.0.0.1', () => process.stdout.write(`${server.address().port}\n`));
