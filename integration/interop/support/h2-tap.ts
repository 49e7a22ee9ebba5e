/**
 * A TCP relay between an HTTP/2 client and server that reads the frames going by: the client's
 * PINGs and the server's GOAWAYs, the two halves of keepalive enforcement.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';

const PREFACE = 24; // "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
const PING = 0x6;
const GOAWAY = 0x7;
const ACK = 0x1;

/** What the tap saw. */
export interface TapSeen {
  connections: number;
  /** PING frames from the client (not acks), with their time. */
  readonly pings: number[];
  /** GOAWAY frames from the server: error code and debug data. */
  readonly goaways: { code: number; debug: string }[];
}

/** Calls `onFrame` for each whole frame of a byte stream; `skip` bytes of preface first. */
function frameReader(skip: number, onFrame: (type: number, flags: number, payload: Buffer) => void): (chunk: Buffer) => void {
  let buffered = Buffer.alloc(0);
  let toSkip = skip;
  return (chunk) => {
    buffered = Buffer.concat([buffered, chunk]);
    if (toSkip > 0) {
      const n = Math.min(toSkip, buffered.length);
      buffered = buffered.subarray(n);
      toSkip -= n;
    }
    while (buffered.length >= 9) {
      const length = buffered.readUIntBE(0, 3);
      if (buffered.length < 9 + length) break;
      onFrame(buffered[3]!, buffered[4]!, buffered.subarray(9, 9 + length));
      buffered = buffered.subarray(9 + length);
    }
  };
}

export interface Tap {
  readonly target: string;
  readonly seen: TapSeen;
  /** Resolves at the first GOAWAY from the server. */
  goaway(): Promise<{ code: number; debug: string }>;
  close(): Promise<void>;
}

/** Starts a tap on 127.0.0.1 in front of `port`. */
export async function startTap(port: number): Promise<Tap> {
  const seen: TapSeen = { connections: 0, pings: [], goaways: [] };
  const sockets = new Set<Socket>();
  let onGoaway: ((g: { code: number; debug: string }) => void) | undefined;
  const server: Server = createServer((client) => {
    seen.connections++;
    const upstream = createConnection({ host: '127.0.0.1', port });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    const fromClient = frameReader(PREFACE, (type, flags) => {
      if (type === PING && (flags & ACK) === 0) seen.pings.push(performance.now());
    });
    const fromServer = frameReader(0, (type, _flags, payload) => {
      if (type !== GOAWAY) return;
      const g = { code: payload.readUInt32BE(4), debug: payload.subarray(8).toString('latin1') };
      seen.goaways.push(g);
      onGoaway?.(g);
    });
    client.on('data', (chunk: Buffer) => {
      fromClient(chunk);
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      fromServer(chunk);
      client.write(chunk);
    });
    client.on('end', () => upstream.end());
    upstream.on('end', () => client.end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port: own } = server.address() as { port: number };
  return {
    target: `127.0.0.1:${own}`,
    seen,
    goaway: () => (seen.goaways[0] ? Promise.resolve(seen.goaways[0]) : new Promise((resolve) => (onGoaway = resolve))),
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
