import 'reflect-metadata';
import { EventEmitter, once } from 'node:events';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { CancelledError, DeadlineExceededError, tryCurrentContext } from '@ctxkit/core';
import { serverInterceptor, Status, statusError } from '@ctxkit/grpc';
import { Controller, type LoggerService, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { GrpcMethod, GrpcStreamMethod, type MicroserviceOptions, Transport } from '@nestjs/microservices';
import { interval, map, type Observable, take, toArray } from 'rxjs';
import { CtxkitRpcExceptionFilter } from '../src/grpc.ts';
import { listenMicroservice, protoPath } from './helpers.ts';
import { untilAborted } from './endings.ts';

export interface Req {
  text: string;
}

export interface Seen {
  traceId: string;
  userId: string;
  tenant: string;
  deadline: number;
  hasContext: boolean;
  text: string;
  requestId: string;
}

/** What a handler saw: its context, or none. */
export function seen(text: string): Seen {
  const ctx = tryCurrentContext();
  return {
    traceId: ctx?.traceId ?? '',
    userId: ctx?.userId ?? '',
    tenant: '',
    deadline: ctx?.deadline ?? 0,
    hasContext: ctx !== undefined,
    text,
    requestId: ctx?.requestId ?? '',
  };
}

/** `slow` handlers emit `started` and `ended` here (with their trace id), for tests to wait on. */
export const slowCalls = new EventEmitter();

/** A request's text picks the handler's ending. */
export async function answer(text: string): Promise<Seen> {
  switch (text) {
    case 'not-found':
      throw statusError(Status.NOT_FOUND, 'no such order');
    case 'deadline':
      throw new DeadlineExceededError();
    case 'cancelled':
      throw new CancelledError();
    case 'bug':
      throw new Error('secret internals at 10.0.0.7');
    case 'slow':
      slowCalls.emit('started', tryCurrentContext()?.traceId);
      await untilAborted().finally(() => slowCalls.emit('ended', tryCurrentContext()?.traceId));
  }
  return seen(text);
}

@Controller()
class GrpcProbeController {
  @GrpcMethod('Probe', 'Unary')
  unary(req: Req): Promise<Seen> {
    return answer(req.text);
  }

  @GrpcMethod('Probe', 'ServerStream')
  serverStream(req: Req): Observable<Seen> {
    if (req.text !== 'ok') throw statusError(Status.FAILED_PRECONDITION, `refused: ${req.text}`);
    return interval(2).pipe(
      take(3),
      map((i) => seen(`${req.text}-${i}`)),
    );
  }

  @GrpcStreamMethod('Probe', 'ClientStream')
  clientStream(reqs: Observable<Req>): Observable<Seen> {
    return reqs.pipe(
      toArray(),
      map((all) => seen(all.map((r) => r.text).join(','))),
    );
  }

  @GrpcStreamMethod('Probe', 'Bidi')
  bidi(reqs: Observable<Req>): Observable<Seen> {
    return reqs.pipe(map((r) => seen(r.text)));
  }
}

@Module({ controllers: [GrpcProbeController] })
class GrpcAppModule {}

/** An ephemeral port on 127.0.0.1 (Nest's gRPC server does not report the one it bound). */
async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

/**
 * A Nest gRPC microservice with ctxkit's server interceptor (through Nest's own channelOptions)
 * and, unless `filter` is false, ctxkit's RPC exception filter (logging to `logger`, or with
 * `'default-logger'` to its default, Nest's `Logger`, which Nest routes to the app's `logger`).
 */
export async function startGrpcApp(logger: LoggerService, filter: boolean | 'default-logger' = true): Promise<string> {
  const url = `127.0.0.1:${await freePort()}`;
  const app = await NestFactory.createMicroservice<MicroserviceOptions>(GrpcAppModule, {
    transport: Transport.GRPC,
    options: {
      package: 'ctxkit.test',
      protoPath,
      url,
      channelOptions: { interceptors: [serverInterceptor()] },
    },
    logger,
  });
  if (filter === 'default-logger') app.useGlobalFilters(new CtxkitRpcExceptionFilter());
  else if (filter) app.useGlobalFilters(new CtxkitRpcExceptionFilter({ logger }));
  await listenMicroservice(app);
  return url;
}
