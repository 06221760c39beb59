// Config files for the nginx backend, the nginx proxy and the HAProxy proxy. Everything they write lives under
// their own prefix in the bench's temp dir; nothing under /etc or /var is read or written.

// nginx closes a client keep-alive connection after 1000 requests by default (since 1.19.10). At tens of
// thousands of req/s that would reconnect every connection several times a second, in wrk's connections and in
// every proxy's upstream pool alike; none of the Node servers does that, so lift it everywhere.
const MANY_REQUESTS = 1_000_000;

/** nginx answering a fixed small body, as the backend every contender forwards to. */
export function nginxBackendConf(prefix, port) {
  return nginxConf(prefix, `
    server {
      listen 127.0.0.1:${port} backlog=4096;
      keepalive_requests ${MANY_REQUESTS};
      default_type text/plain;
      location = /healthz { return 200 "ok"; }
      location / { return 200 "hello"; }
    }`);
}

/** nginx as a reverse proxy with an upstream keep-alive pool, the reference every ratio is taken against. */
export function nginxProxyConf(prefix, port, backendPort) {
  return nginxConf(prefix, `
    upstream backend {
      server 127.0.0.1:${backendPort};
      keepalive 64;
      keepalive_requests ${MANY_REQUESTS};
    }
    server {
      listen 127.0.0.1:${port} backlog=4096;
      keepalive_requests ${MANY_REQUESTS};
      location / {
        proxy_pass http://backend;
        # Upstream keep-alive needs HTTP/1.1 and no "Connection: close" (nginx's default for upstreams).
        proxy_http_version 1.1;
        proxy_set_header Connection "";
      }
    }`);
}

/** HAProxy on one thread, reusing idle upstream connections across client connections. */
export function haproxyConf(port, backendPort) {
  return `global
  nbthread 1
  maxconn 4096

defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  http-reuse always

frontend bench
  bind 127.0.0.1:${port}
  default_backend backend

backend backend
  server b1 127.0.0.1:${backendPort}
`;
}

/** One worker, foreground, all paths under `prefix` (the Debian build's defaults point at /var/lib/nginx). */
function nginxConf(prefix, httpBlock) {
  return `worker_processes 1;
daemon off;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${prefix}/client_body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
${httpBlock}
}
`;
}
