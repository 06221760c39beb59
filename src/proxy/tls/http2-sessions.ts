// The lifecycle of an HTTP/2 server's sessions, which http.Server's connection handling does not know about: closed
// when idle like a keep-alive connection, and closed or destroyed when the listener shuts down.

import { Server as HttpServer, type Server } from 'node:http';
import type { Http2SecureServer, ServerHttp2Session } from 'node:http2';

/**
 * ProxyServer.close() drains through http.Server's closeIdleConnections() and closeAllConnections(). An HTTP/2
 * server has the first only for its HTTP/1.1 connections and lacks the second; these cover its sessions too. Closing
 * a session sends GOAWAY (RFC 9113 §6.8): its streams in flight finish, the client opens no new ones on it.
 */
export function withSessionControl(server: Http2SecureServer): Server {
  const sessions = new Set<ServerHttp2Session>();
  server.on('session', (session: ServerHttp2Session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
    // Read per session, so a keep-alive the owner set after building the server (ProxyServer does) applies.
    closeWhenIdle(session, (server as unknown as { keepAliveTimeout: number }).keepAliveTimeout);
  });
  // Node 20 has it; @types/node's Http2SecureServer does not declare it.
  const closeIdleHttp1 = (server as unknown as HttpServer).closeIdleConnections.bind(server);
  return Object.assign(server, {
    closeIdleConnections(): void {
      closeIdleHttp1();
      for (const session of sessions) session.close();
    },
    closeAllConnections(): void {
      // The HTTP/1.1 connections are tracked by the same machinery as http.Server's, so its method works here.
      HttpServer.prototype.closeAllConnections.call(server);
      for (const session of sessions) session.destroy();
    },
  }) as unknown as Server;
}

/**
 * Closes a session that has had no stream open for `idleMs` (0: never), as a keep-alive timeout does for HTTP/1.1. A
 * long response with quiet stretches keeps its session: only a session without streams counts as idle.
 */
function closeWhenIdle(session: ServerHttp2Session, idleMs: number): void {
  if (!(idleMs > 0)) return;
  let open = 0;
  // Activity postpones a session's timeout, but once it has fired Node does not arm it again: that is done here
  // when the last stream ends.
  let armed = true;
  session.on('timeout', () => {
    armed = false;
    if (open === 0) session.close();
  });
  session.on('stream', (stream) => {
    open++;
    stream.once('close', () => {
      if (--open > 0 || armed || session.closed) return;
      armed = true;
      session.setTimeout(idleMs);
    });
  });
  session.setTimeout(idleMs);
}
