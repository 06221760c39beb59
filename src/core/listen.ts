import { isIP } from 'node:net';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CutoverError } from './errors.ts';
import type { Logger } from './logger.ts';

/**
 * Starts `server` listening and resolves with its address. A socket error becomes one sentence naming what could
 * not listen where (`the proxy cannot listen on 127.0.0.1:8080: the address is in use`), not a stack trace.
 */
export function listenOn(server: Server, address: { host: string; port: number }, what: string, inherited?: unknown, log?: Logger): Promise<AddressInfo> {
  // A socket handed over that the config has since moved elsewhere: closed, and the configured address bound.
  if (inherited !== undefined && !boundTo(inherited, address)) {
    log?.warn({ listen: whereOf(address) }, `${what} moved in the config: the handed-over socket is closed, the new address opened`);
    (inherited as { close?(): void }).close?.();
    inherited = undefined;
  }
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => reject(listenError(err, address, what));
    const onListening = () => {
      server.off('error', onError);
      resolve(server.address() as AddressInfo);
    };
    server.once('error', onError);
    // A listening socket handed over by the cutover this one replaces: accept on it, never bind anew.
    if (inherited !== undefined) server.listen(inherited as Parameters<Server['listen']>[0], onListening);
    else server.listen(address.port, address.host === '' ? undefined : address.host, onListening);
  });
}

function whereOf({ host, port }: { host: string; port: number }): string {
  return `${host.includes(':') ? `[${host}]` : host || '*'}:${port}`;
}

function listenError(err: NodeJS.ErrnoException, address: { host: string; port: number }, what: string): CutoverError {
  const where = whereOf(address);
  const why =
    err.code === 'EADDRINUSE' ? 'the address is in use (is another cutover or server running there?)'
    : err.code === 'EACCES' ? 'permission denied (ports below 1024 need privileges)'
    : err.code === 'EADDRNOTAVAIL' ? 'this machine has no such address'
    : err.message;
  return new CutoverError('LISTEN_FAILED', 500, `${what} cannot listen on ${where}: ${why}`, { cause: err });
}

/** A URL a client on this machine can use for a listening address (a wildcard address becomes 127.0.0.1). */
export function localUrl({ address, port }: { address: string; port: number }, scheme: 'http' | 'https' = 'http'): string {
  const host = address === '::' || address === '0.0.0.0' || address === '' ? '127.0.0.1' : address;
  return `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/**
 * Whether a listening socket handed over (its bare handle) is bound where `address` says: the same port (any, for
 * port 0) and, for an address that names one IP, that IP. A config that moved a listener does not keep the old one.
 */
export function boundTo(handle: unknown, address: { host: string; port: number }): boolean {
  const bound: { address?: string; port?: number } = {};
  (handle as { getsockname?(out: object): number }).getsockname?.(bound);
  if (address.port !== 0 && bound.port !== address.port) return false;
  return isIP(address.host) === 0 || address.host === '0.0.0.0' || address.host === '::' || bound.address === address.host;
}
