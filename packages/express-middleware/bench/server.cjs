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
// Two ways of binding the streams' emit on top of core's start, to compare their cost:
// 'stored' keeps the context and the original emit on each stream (3 properties each);
// 'shared' (what ctxkit does) reads req.ctx / res.req.ctx and adds only `emit`.
const { EventEmitter } = require('node:events');
const { tryCurrentContext } = require('@ctxkit/core');
const CTX = Symbol('ctx');
const ORIGINAL = Symbol('emit');
function storedEmit(...args) {
  const ctx = this[CTX];
  if (tryCurrentContext() === ctx) return this[ORIGINAL](...args);
  return runWithContext(ctx, () => this[ORIGINAL](...args));
}
const inherited = EventEmitter.prototype.emit;
function sharedReqEmit(event) {
  const ctx = this.ctx;
  if (tryCurrentContext() === ctx || this.listenerCount(event) === 0) return Reflect.apply(inherited, this, arguments);
  return runWithContext(ctx, Reflect.apply, inherited, this, arguments);
}
function sharedResEmit(event) {
  const ctx = this.req.ctx;
  if (tryCurrentContext() === ctx || this.listenerCount(event) === 0) return Reflect.apply(inherited, this, arguments);
  return runWithContext(ctx, Reflect.apply, inherited, this, arguments);
}
if (variant === 'start+stored') {
  app.use((req, res, next) => {
    const ctx = start(req, res);
    req.ctx = ctx;
    for (const e of [req, res]) {
      e[CTX] = ctx;
      e[ORIGINAL] = e.emit;
      e.emit = storedEmit;
    }
    runWithContext(ctx, next);
  });
}
if (variant === 'start+shared') {
  app.use((req, res, next) => {
    const ctx = start(req, res);
    req.ctx = ctx;
    req.emit = sharedReqEmit;
    res.emit = sharedResEmit;
    runWithContext(ctx, next);
  });
}
if (variant === 'ctxkit') app.use(ctxkit());
if (variant === 'ctxkit+deadline') app.use(ctxkit({ defaultTimeoutMs: 30_000 }));
app.get('/', (req, res) => res.end('ok'));
app.post('/', express.json(), (req, res) => res.json(req.body));
const server = app.listen(0, '127.0.0.1', () => process.stdout.write(`${server.address().port}\n`));
