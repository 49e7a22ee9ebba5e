import { ctxkit } from '@ctxkit/fastify';
import { CtxkitExceptionFilter } from '@ctxkit/nestjs';
import type { DynamicModule, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';

export async function createApp(AppModule: Type | DynamicModule): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter();
  // Before create(), which registers Nest's middleware engine: Nest middleware then sees the context.
  await adapter.getInstance().register(ctxkit, { defaultTimeoutMs: 3_000 });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule, adapter);
  // ctxkit's 504, 499 and gRPC statuses instead of Nest's 500 (Express adapter: the same filter,
  // and app.use(ctxkit()) from @ctxkit/express; gRPC transport: @ctxkit/nestjs/grpc).
  app.useGlobalFilters(new CtxkitExceptionFilter(app.getHttpAdapter()));
  return app;
}
