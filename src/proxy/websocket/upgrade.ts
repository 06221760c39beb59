import type { IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { pickTarget } from '../../pool/balancer.ts';
import type { InFlightEntry } from '../../pool/in-flight.ts';
import type { Drainable } from '../../pool/pool-generation.ts';
import { requestLines } from '../../pool/request-head.ts';
import type { Target } from '../../pool/target.ts';
import { upstreamRequestHeaders, type ForwardedFor } from '../headers.ts';
import type { RoutedApp, RoutedEnv } from '../router.ts';
import { Tunnel } from './tunnel.ts';

export interface UpgradeContext {
  readonly app: RoutedApp;
  readonly env: RoutedEnv;
  readonly forwarded: ForwardedFor;
  readonly onError: (status: number, code: string, message: string) => void;
  /** Told of every tunnel opened and closed, so a shutdown can end them. */
  readonly tunnels: Set<Tunnel>;
}

/**
 * An HTTP/1.1 Upgrade (a WebSocket) to a target of `env`: the request head is rewritten like any request's (plus
 * the Connection and Upgrade fields the upgrade needs) and sent on a new connection, and from then on bytes are
 * relayed both ways. A refused connection is retried once on another target.
 */
export function proxyUpgrade(req: IncomingMessage, client: Duplex, head: Buffer, ctx: UpgradeContext, exclude: Target | null = null): void {
  const target = pickTarget(ctx.env.targets, ctx.app.cursor++, exclude);
  if (target === null) return ctx.onError(502, 'NO_TARGET', `app "${ctx.app.name}" has no target for the upgrade`);
  const url = new URL(target.url);
  const upstream = connect({ host: url.hostname, port: Number(url.port), noDelay: true });
  upstream.setTimeout(target.connectTimeoutMs, () => upstream.destroy(Object.assign(new Error('connect timeout'), { code: 'ETIMEDOUT' })));
  upstream.once('error', (err: NodeJS.ErrnoException) => {
    if (upstream.connecting === false && (upstream.bytesRead > 0 || upstream.bytesWritten > 0)) return;
    if (exclude === null && ctx.env.targets.length > 1) return proxyUpgrade(req, client, head, ctx, target);
    ctx.onError(502, 'UPSTREAM_CONNECT', `${target.url} refused the upgrade: ${err.code ?? err.message}`);
  });
  upstream.once('connect', () => {
    upstream.setTimeout(0);
    upstream.setKeepAlive(true);
    upstream.write(requestHead(req, ctx.forwarded));
    // Bytes the client sent after its request head go upstream only once the upstream has switched protocols: to an
    // upstream that answers the upgrade as a plain request they would be a second request that no check has seen.
    open(target, client, upstream, ctx.tunnels, head);
  });
}

function open(target: Target, client: Duplex, upstream: Socket, tunnels: Set<Tunnel>, head: Buffer): void {
  if (client.destroyed) {
    upstream.destroy();
    return;
  }
  (client as Socket).setTimeout?.(0);
  (client as Socket).setNoDelay?.(true);
  target.websockets++;
  let tracked: InFlightEntry<Drainable> | null = null;
  const tunnel = new Tunnel(client, upstream, {
    onTunnelClosed: () => {
      target.websockets--;
      tracked?.remove();
      tunnels.delete(tunnel);
    },
  }, head);
  tracked = target.track(tunnel);
  tunnels.add(tunnel);
}

/** The request line and fields for the upstream: hop-by-hop ones removed, then the upgrade's own put back. */
function requestHead(req: IncomingMessage, forwarded: ForwardedFor): string {
  const head = requestLines(req.method ?? 'GET', req.url ?? '/', upstreamRequestHeaders(req.rawHeaders, forwarded));
  return `${head}connection: upgrade\r\nupgrade: ${req.headers.upgrade}\r\n\r\n`;
}
