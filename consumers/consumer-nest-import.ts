// consumer-nest.ts as a node16 CommonJS project writes it: Nest 12 and @ctxkit/nestjs are loaded
// with import() (a node16 CommonJS file cannot require an ES module; TypeScript says TS1479).
export async function nest(): Promise<void> {
  const [{ CtxkitExceptionFilter }, { CtxkitRpcExceptionFilter }, { Logger, Module }, { APP_FILTER, NestFactory }] = await Promise.all([
    import('@ctxkit/nestjs'),
    import('@ctxkit/nestjs/grpc'),
    import('@nestjs/common'),
    import('@nestjs/core'),
  ]);
  class ShopModule {}
  Module({ providers: [{ provide: APP_FILTER, useClass: CtxkitExceptionFilter }] })(ShopModule);
  const app = await NestFactory.create(ShopModule);
  app.useGlobalFilters(new CtxkitExceptionFilter(app.getHttpAdapter(), { logger: new Logger('shop') }), new CtxkitRpcExceptionFilter());
  // @ts-expect-error the logger is a Nest LoggerService
  new CtxkitExceptionFilter(app.getHttpAdapter(), { logger: 'console' });
}
