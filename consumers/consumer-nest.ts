// What a NestJS app writes, type-checked beside consumer.ts in every module mode but node16 CJS
// (consumer-nest-import.ts there: Nest 12 is ESM only, which a node16 CommonJS file cannot
// require, with or without ctxkit).
import { CtxkitExceptionFilter } from '@ctxkit/nestjs';
import { CtxkitRpcExceptionFilter } from '@ctxkit/nestjs/grpc';
import { Logger, Module } from '@nestjs/common';
import { APP_FILTER, NestFactory } from '@nestjs/core';

@Module({ providers: [{ provide: APP_FILTER, useClass: CtxkitExceptionFilter }] })
export class ShopModule {}

export async function nest(): Promise<void> {
  const app = await NestFactory.create(ShopModule);
  app.useGlobalFilters(new CtxkitExceptionFilter(app.getHttpAdapter(), { logger: new Logger('shop') }), new CtxkitRpcExceptionFilter());
  // @ts-expect-error the logger is a Nest LoggerService
  new CtxkitExceptionFilter(app.getHttpAdapter(), { logger: 'console' });
}
