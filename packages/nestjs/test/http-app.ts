import 'reflect-metadata';
import type { IncomingMessage } from 'node:http';
import { tryCurrentContext, withTimeout } from '@ctxkit/core';
import { ctxkit as ctxkitExpress } from '@ctxkit/express';
import { ctxkit as ctxkitFastify } from '@ctxkit/fastify';
import { clientInterceptor } from '@ctxkit/grpc';
import {
  type CallHandler,
  type CanActivate,
  Controller,
  type ExecutionContext,
  Get,
  type INestApplication,
  Inject,
  Injectable,
  type LoggerService,
  type MessageEvent,
  type MiddlewareConsumer,
  Module,
  type NestInterceptor,
  type NestMiddleware,
  type NestModule,
  NotFoundException,
  type OnModuleInit,
  Param,
  type PipeTransform,
  Query,
  Req,
  Scope,
  Sse,
  UseGuards,
  UseInterceptors,
} from '@nestjs/common';
import { APP_FILTER, NestFactory } from '@nestjs/core';
import { ClientsModule, type ClientGrpc, Transport } from '@nestjs/microservices';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { ClsModule, ClsService } from 'nestjs-cls';
import { interval, lastValueFrom, map, type Observable, take, toArray } from 'rxjs';
import { CtxkitExceptionFilter } from '../src/index.ts';
import type { Req as ProbeReq, Seen } from './grpc-app.ts';
import { endings, untilAborted } from './endings.ts';
import { listen, protoPath } from './helpers.ts';

/** The trace id of the context current here, or `'none'`. */
export function trace(): string {
  return tryCurrentContext()?.traceId ?? 'none';
}

export interface ProbeClient {
  unary(req: ProbeReq): Observable<Seen>;
  serverStream(req: ProbeReq): Observable<Seen>;
}

/** What tests wait on: a handler that started (to hang up on it). */
export class Hooks {
  started = Promise.withResolvers<void>();
}

type AnyRequest = { raw?: IncomingMessage; guardTrace?: string } & Record<string, unknown>;
type Marked = IncomingMessage & { middlewareTrace?: string };

function rawOf(req: AnyRequest): Marked {
  return (req.raw ?? req) as Marked;
}

@Injectable()
class TraceGuard implements CanActivate {
  canActivate(ec: ExecutionContext): boolean {
    ec.switchToHttp().getRequest<AnyRequest>().guardTrace = trace();
    return true;
  }
}

@Injectable()
class TraceInterceptor implements NestInterceptor {
  intercept(_ec: ExecutionContext, next: CallHandler): Observable<unknown> {
    const before = trace();
    return next.handle().pipe(
      map((value) =>
        value !== null && typeof value === 'object' && !Array.isArray(value) && 'trace' in value
          ? { ...value, interceptorBefore: before, interceptorAfter: trace() }
          : value,
      ),
    );
  }
}

@Injectable()
class TracePipe implements PipeTransform {
  transform(): string {
    return trace();
  }
}

@Injectable()
class TraceMiddleware implements NestMiddleware {
  use(req: Marked, _res: unknown, next: () => void): void {
    req.middlewareTrace = trace();
    next();
  }
}

@Injectable({ scope: Scope.REQUEST })
class RequestScoped {
  readonly traceId = trace();
}

@Injectable()
export class Backend implements OnModuleInit {
  probe!: ProbeClient;
  constructor(@Inject('PROBE') private readonly client: ClientGrpc) {}
  onModuleInit(): void {
    this.probe = this.client.getService<ProbeClient>('Probe');
  }
  /** Calls the gRPC service, as code that lost its context would. */
  unaryOutside(text: string): Promise<Seen> {
    return lastValueFrom(this.probe.unary({ text }));
  }
}

@Controller()
@UseGuards(TraceGuard)
@UseInterceptors(TraceInterceptor)
class HttpProbeController {
  constructor(
    @Inject(Backend) private readonly backend: Backend,
    @Inject(Hooks) private readonly hooks: Hooks,
    @Inject(ClsService) private readonly cls: ClsService,
  ) {}

  @Get('seen')
  async seen(@Req() req: AnyRequest, @Query('p', TracePipe) pipe: string) {
    await new Promise((r) => setTimeout(r, Math.random() * 5)); // interleave the requests
    const down = await lastValueFrom(this.backend.probe.unary({ text: 'hi' }));
    return {
      trace: trace(),
      middleware: rawOf(req).middlewareTrace ?? 'none',
      guard: req.guardTrace,
      pipe,
      downstream: down.traceId,
      clsId: this.cls.isActive() ? this.cls.getId() : undefined,
      clsTrace: this.cls.isActive() ? this.cls.get('trace') : undefined,
    };
  }

  @Get('grpc/:text')
  grpc(@Param('text') text: string): Promise<Seen> {
    return lastValueFrom(this.backend.probe.unary({ text }));
  }

  @Get('grpc-stream')
  async grpcStream() {
    const all = await lastValueFrom(this.backend.probe.serverStream({ text: 'ok' }).pipe(toArray()));
    return { trace: trace(), downstream: all.map((s) => s.traceId) };
  }

  /** The endings the parity test compares with a plain app's answers. */
  @Get('ending/:name')
  ending(@Param('name') name: string): Promise<unknown> {
    return endings((text) => lastValueFrom(this.backend.probe.unary({ text })))[name]!();
  }

  @Get('with-timeout')
  withTimeout(): Promise<never> {
    return withTimeout(20, untilAborted);
  }

  @Get('hang')
  hang(): Promise<never> {
    this.hooks.started.resolve();
    return untilAborted();
  }

  @Get('late')
  async late(): Promise<{ late: true }> {
    // Returns after the deadline's 504: Nest then writes to an answered response.
    await untilAborted().catch(() => undefined);
    return { late: true };
  }

  @Get('http-exception')
  httpException(): never {
    throw new NotFoundException('no such page');
  }

  @Get('bug')
  bug(): never {
    throw new Error('secret internals');
  }

  @Sse('sse')
  sse(): Observable<MessageEvent> {
    return interval(2).pipe(
      take(3),
      map((i) => ({ data: { i, trace: trace() } })),
    );
  }
}

@Controller('scoped')
class ScopedController {
  constructor(@Inject(RequestScoped) private readonly scoped: RequestScoped) {}

  @Get()
  async get() {
    await new Promise((r) => setTimeout(r, Math.random() * 5));
    return { trace: trace(), provider: this.scoped.traceId };
  }
}

export type Adapter = 'express' | 'fastify';

export interface HttpAppOptions {
  readonly grpcUrl: string;
  readonly logger: LoggerService;
  readonly hooks?: Hooks;
  /** Also run `@ctxkit/express`'s middleware as Nest middleware (on Fastify: beside the plugin). */
  readonly expressMiddleware?: boolean;
  /** Express adapter with `expressMiddleware`: `app.use(ctxkit())` as well, so the middleware runs twice. */
  readonly appUseToo?: boolean;
  /** Fastify: register the plugin after `NestFactory.create()` (behind Nest's middleware engine). */
  readonly pluginLate?: boolean;
  /** nestjs-cls beside ctxkit, its middleware mounted. */
  readonly cls?: boolean;
  /** ctxkit's exception filter: global through `useGlobalFilters` (default), as `APP_FILTER`, or none. */
  readonly filter?: 'global' | 'module' | false;
}

function appModule(options: HttpAppOptions) {
  const clsImports = options.cls
    ? [
        ClsModule.forRoot({
          global: true,
          middleware: { mount: true, generateId: true, setup: (cls) => cls.set('trace', trace()) },
        }),
      ]
    : [ClsModule.forRoot({ global: true })];

  @Module({
    imports: [
      ...clsImports,
      ClientsModule.register([
        {
          name: 'PROBE',
          transport: Transport.GRPC,
          options: {
            package: 'ctxkit.test',
            protoPath,
            url: options.grpcUrl,
            channelOptions: { interceptors: [clientInterceptor()] },
          },
        },
      ]),
    ],
    controllers: [HttpProbeController, ScopedController],
    providers: [
      Backend,
      TracePipe,
      RequestScoped,
      { provide: Hooks, useValue: options.hooks ?? new Hooks() },
      ...(options.filter === 'module' ? [{ provide: APP_FILTER, useClass: CtxkitExceptionFilter }] : []),
    ],
  })
  class HttpAppModule implements NestModule {
    configure(consumer: MiddlewareConsumer): void {
      if (options.expressMiddleware) consumer.apply(ctxkitExpress({ trust: 'internal' }), TraceMiddleware).forRoutes('*');
      else consumer.apply(TraceMiddleware).forRoutes('*');
    }
  }
  return HttpAppModule;
}

/**
 * A Nest HTTP app set up as the README says: on Express, `app.use(ctxkit())` before listening;
 * on Fastify, the plugin registered on the adapter before `NestFactory.create()`; ctxkit's
 * exception filter global. Returns its port.
 */
export async function startHttpApp(adapter: Adapter, options: HttpAppOptions) {
  const module = appModule(options);
  const timeouts = { defaultTimeoutMs: 5_000, maxTimeoutMs: 10_000 };
  let app: INestApplication;
  if (adapter === 'express') {
    app = await NestFactory.create(module, new ExpressAdapter(), { logger: options.logger });
    if (!options.expressMiddleware || options.appUseToo) app.use(ctxkitExpress(timeouts));
  } else {
    const fastify = new FastifyAdapter();
    if (!options.pluginLate) await fastify.getInstance().register(ctxkitFastify, timeouts);
    const nest = await NestFactory.create<NestFastifyApplication>(module, fastify, { logger: options.logger });
    if (options.pluginLate) await nest.register(ctxkitFastify, timeouts);
    app = nest;
  }
  if (options.filter === undefined || options.filter === 'global') app.useGlobalFilters(new CtxkitExceptionFilter(app.getHttpAdapter(), { logger: options.logger }));
  const port = await listen(app);
  return { port, app };
}
