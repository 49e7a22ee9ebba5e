/**
 * nginx and HAProxy in front of a ctxkit edge, started from the configurations shipped in
 * docs/proxies.md (the test fills in the ports and the temp paths).
 */
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, Peer, systemBinary } from './peers.ts';

/** Resolves once something accepts TCP connections on `port`, or rejects when `peer` exits. */
async function accepting(port: number, peer: Peer, timeoutMs = 15_000): Promise<void> {
  const until = performance.now() + timeoutMs;
  let exited: string | undefined;
  void peer.exited().then((code) => (exited = `${peer.name} exited (code ${code}): ${peer.stderr.join('').slice(-2000)}`));
  for (;;) {
    if (exited !== undefined) throw new Error(exited);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    if (performance.now() > until) throw new Error(`${peer.name} did not listen on ${port} within ${timeoutMs} ms: ${peer.stderr.join('')}`);
    await new Promise((resolve) => setTimeout(resolve, 20)); // poll interval, not an assertion
  }
}

/** The nginx `http {}` content shipped in docs/proxies.md: an upstream and a server. */
export function nginxSite(listen: number, edgePort: number): string {
  return `upstream edge {
  server 127.0.0.1:${edgePort};
  keepalive 16;
}
server {
  listen 127.0.0.1:${listen};
  location / {
    proxy_pass http://edge;
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    # nginx's own id for the request (32 hex digits): the request id ctxkit takes from a
    # trusted proxy and forwards unchanged; also returned to the client.
    proxy_set_header X-Request-Id $request_id;
    add_header X-Request-Id $request_id always;
    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
  }
}
`;
}

/** A whole nginx configuration around {@link nginxSite}, run from a temp dir by a test. */
function nginxConfig(dir: string, listen: number, edgePort: number): string {
  return `worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log stderr warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
${nginxSite(listen, edgePort)}}
`;
}

/**
 * The HAProxy configuration of docs/proxies.md, for a test: an h2 front and an HTTP/1.1 front;
 * `abortOnClose: false` is HAProxy's default, under which only an HTTP/2 stream reset reaches
 * the edge.
 */
export function haproxyConfig(h2Port: number, h1Port: number, edgePort: number, abortOnClose = true): string {
  return `global
  maxconn 256

defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  # Abort the request to the edge when the client aborts it (HTTP/2 RST_STREAM, connection close).
  ${abortOnClose ? '' : 'no '}option abortonclose

frontend public_h2
  bind 127.0.0.1:${h2Port} proto h2
  default_backend edge

frontend public_h1
  bind 127.0.0.1:${h1Port}
  default_backend edge

backend edge
  server edge1 127.0.0.1:${edgePort}
`;
}

export interface ProxyPeer {
  readonly peer: Peer;
  readonly ports: readonly number[];
  stop(): Promise<void>;
}

/** Starts `make(ports)` as a proxy listening on `count` free ports; retries if a port was taken. */
async function startProxy(name: string, count: number, start: (ports: number[]) => Peer): Promise<ProxyPeer> {
  for (let attempt = 1; ; attempt++) {
    const ports: number[] = [];
    for (let i = 0; i < count; i++) ports.push(await freePort());
    const peer = start(ports);
    try {
      for (const port of ports) await accepting(port, peer);
      return { peer, ports, stop: () => peer.stop() };
    } catch (error) {
      await peer.stop();
      if (attempt === 3) throw new Error(`${name}: ${(error as Error).message}`);
    }
  }
}

export function startNginx(edgePort: number): Promise<ProxyPeer> {
  const nginx = systemBinary('nginx', 'nginx');
  return startProxy('nginx', 1, ([port]) => {
    const dir = mkdtempSync(join(tmpdir(), 'ctxkit-nginx-'));
    chmodSync(dir, 0o755); // run as root (CI), nginx's workers are `nobody` and use its temp dirs
    writeFileSync(join(dir, 'nginx.conf'), nginxConfig(dir, port!, edgePort));
    return new Peer('nginx', nginx, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', 'stderr'], 'SIGTERM');
  });
}

export function startHaproxy(edgePort: number, abortOnClose = true): Promise<ProxyPeer> {
  const haproxy = systemBinary('haproxy', 'haproxy');
  return startProxy('haproxy', 2, ([h2, h1]) => {
    const dir = mkdtempSync(join(tmpdir(), 'ctxkit-haproxy-'));
    writeFileSync(join(dir, 'haproxy.cfg'), haproxyConfig(h2!, h1!, edgePort, abortOnClose));
    return new Peer('haproxy', haproxy, ['-db', '-f', join(dir, 'haproxy.cfg')], 'SIGTERM');
  });
}
