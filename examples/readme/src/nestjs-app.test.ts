import 'reflect-metadata';
import type { AddressInfo } from 'node:net';
import { currentContext, withTimeout } from '@ctxkit/core';
import { Controller, Get, type INestApplication, Module } from '@nestjs/common';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp } from './nestjs.ts';

@Controller()
class OrdersController {
  @Get('whoami')
  whoami() {
    return { traceId: currentContext().traceId };
  }

  @Get('slow')
  slow() {
    // A child budget shorter than the request's: its DeadlineExceededError is a 504.
    return withTimeout(20, () => new Promise((_, reject) => currentContext().signal.addEventListener('abort', () => reject(currentContext().signal.reason))));
  }
}

@Module({ controllers: [OrdersController] })
class AppModule {}

let app: INestApplication | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

describe('nestjs.ts', () => {
  it('a Nest app on Fastify: the context in the handler, a withTimeout deadline answered 504', async () => {
    app = await createApp(AppModule);
    await app.listen(0, '127.0.0.1');
    const url = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
    const trace = '4bf92f3577b34da6a3ce929d0e0e4736';
    const seen = await fetch(`${url}/whoami`, { headers: { traceparent: `00-${trace}-00f067aa0ba902b7-01` } });
    expect(await seen.json()).toEqual({ traceId: trace });
    const slow = await fetch(`${url}/slow`);
    expect(slow.status).toBe(504);
    expect(await slow.json()).toMatchObject({ code: 'DEADLINE_EXCEEDED', message: 'deadline exceeded' });
  });
});
