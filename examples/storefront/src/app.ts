import 'reflect-metadata';
import { ctxkit } from '@ctxkit/fastify';
import { CtxkitExceptionFilter } from '@ctxkit/nestjs';
import { type DynamicModule, type LoggerService, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { inventoryClient } from './inventory.ts';
import { StockController } from './stock.controller.ts';

@Module({})
class StorefrontModule {
  static register(inventoryAddr: string): DynamicModule {
    return { module: StorefrontModule, imports: [inventoryClient(inventoryAddr)], controllers: [StockController] };
  }
}

export interface StorefrontOptions {
  /** host:port of the inventory gRPC service. */
  readonly inventoryAddr: string;
  /** Nest's logger; default Nest's own. */
  readonly logger?: LoggerService;
}

/** Builds the storefront: a Nest app on the Fastify adapter, set up as @ctxkit/nestjs's README says. */
export async function createStorefront(options: StorefrontOptions): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter();
  // Before create(), which registers Nest's middleware engine: Nest middleware then runs in the context.
  await adapter.getInstance().register(ctxkit, { defaultTimeoutMs: 3_000, maxTimeoutMs: 5_000 });
  const app = await NestFactory.create<NestFastifyApplication>(StorefrontModule.register(options.inventoryAddr), adapter, {
    ...(options.logger === undefined ? {} : { logger: options.logger }),
  });
  // ctxkit's 504, 499 and gRPC statuses mapped to HTTP, instead of Nest's 500.
  app.useGlobalFilters(new CtxkitExceptionFilter(app.getHttpAdapter(), options.logger === undefined ? {} : { logger: options.logger }));
  return app;
}
