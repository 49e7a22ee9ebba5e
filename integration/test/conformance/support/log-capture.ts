/** Captures pino output in memory so tests can check every line. */
import { Writable } from 'node:stream';
import { pinoMixin } from '@ctxkit/core';
import pino, { type Logger } from 'pino';

/** A Writable that keeps every chunk. */
export class WritableCapture extends Writable {
  readonly chunks: Buffer[] = [];
  override _write(chunk: Buffer | string, _enc: BufferEncoding, cb: () => void): void {
    this.chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
    cb();
  }
  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

/** A pino logger (ctxkit's mixin on) writing synchronously into memory. */
export function captureLogger(): { log: Logger; lines: () => string[]; parsed: () => Record<string, unknown>[] } {
  const out = new WritableCapture();
  const log = pino({ mixin: pinoMixin(), level: 'debug' }, out);
  const lines = () => out.text().split('\n').filter((l) => l !== '');
  return { log, lines, parsed: () => lines().map((l) => JSON.parse(l) as Record<string, unknown>) };
}
