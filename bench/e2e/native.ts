// Config files for the native servers of the end-to-end bench, written into a temporary folder: nginx as
// the upstreams (`return 200` on three ports + stub_status), nginx as a proxy and HAProxy as a proxy, each
// with one worker / one thread and keep-alive connections to the upstreams.

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** Idle and per-connection request limits high enough that no connection is closed during a run. */
const KEEPALIVE = `
    keepalive_timeout 300s;
    keepalive_requests 100000000;`;

function nginxMain(dir: string, body: string): string {
  for (const d of ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]) mkdirSync(join(dir, d), { recursive: true });
  return `daemon off;
master_process on;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; multi_accept on; }
http {
    access_log off;
    client_body_temp_path ${dir}/client_body;
    proxy_temp_path ${dir}/proxy;
    fastcgi_temp_path ${dir}/fastcgi;
    uwsgi_temp_path ${dir}/uwsgi;
    scgi_temp_path ${dir}/scgi;${KEEPALIVE}
${body}
}
`;
}

/**
 * nginx upstreams: `return 200 "uN\n"` on each port, stub_status on `statusPort`; with `h2Ports`, the same
 * answers over h2c (HTTP/2 by prior knowledge) on those ports too, for the HTTP/2 bench. Returns the config path.
 */
export function nginxUpstreamConfig(dir: string, ports: readonly number[], statusPort: number, h2Ports: readonly number[] = []): string {
  mkdirSync(dir, { recursive: true });
  const answer = (i: number) => `location / { default_type text/plain; return 200 "u${i + 1}\\n"; }`;
  const servers = ports.map((p, i) => `    server { listen 127.0.0.1:${p}; ${answer(i)} }`);
  servers.push(...h2Ports.map((p, i) => `    server { listen 127.0.0.1:${p} http2; ${answer(i)} }`));
  servers.push(`    server { listen 127.0.0.1:${statusPort}; location / { stub_status; } }`);
  const file = join(dir, "upstream.conf");
  writeFileSync(file, nginxMain(dir, servers.join("\n")));
  return file;
}

/**
 * nginx as the proxy: round robin over the upstreams, HTTP/1.1 keep-alive pool of 256 idle connections; with
 * `http2`, clients speak h2c to it (nginx proxies to upstreams over HTTP/1.1 only).
 */
export function nginxProxyConfig(dir: string, port: number, upstreams: readonly number[], http2 = false): string {
  mkdirSync(dir, { recursive: true });
  const body = `    upstream bench {
${upstreams.map((p) => `        server 127.0.0.1:${p};`).join("\n")}
        keepalive 256;
        keepalive_requests 100000000;
        keepalive_timeout 300s;
    }
    server {
        listen 127.0.0.1:${port}${http2 ? " http2" : ""};
        location / {
            proxy_pass http://bench;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }`;
  const file = join(dir, "proxy.conf");
  writeFileSync(file, nginxMain(dir, body));
  return file;
}

/**
 * HAProxy as the proxy: one thread, round robin, idle server connections reused by any client; with `http2`,
 * h2c on both sides (clients by prior knowledge, upstreams `proto h2`).
 */
export function haproxyConfig(dir: string, port: number, upstreams: readonly number[], http2 = false): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, "haproxy.cfg");
  writeFileSync(file, `global
    nbthread 1
    # Within the 20,000 file descriptors this sandbox allows (HAProxy asks for about 2 per connection).
    maxconn 4096

defaults
    mode http
    timeout connect 5s
    timeout client 300s
    timeout server 300s
    timeout http-keep-alive 300s
    option http-keep-alive
    http-reuse always

frontend bench
    bind 127.0.0.1:${port}${http2 ? " proto h2" : ""}
    default_backend upstreams

backend upstreams
    balance roundrobin
${upstreams.map((p, i) => `    server u${i + 1} 127.0.0.1:${p}${http2 ? " proto h2" : ""}`).join("\n")}
`);
  return file;
}

/** The "accepts" counter of nginx's stub_status page. */
export function parseStubStatus(text: string): number | null {
  const m = /server accepts handled requests\s+(\d+)\s+(\d+)\s+(\d+)/.exec(text);
  return m ? Number(m[1]) : null;
}
