// Listen addresses as written in the config: "127.0.0.1:8080", "[::1]:8080", "localhost:8080", or ":8080" for
// every interface. The host is kept without brackets, ready for net.Server#listen; an empty host means every
// interface, which is what Node does when listen() gets no host (:: where IPv6 exists, else 0.0.0.0).

import { BlockList, isIP, isIPv6 } from 'node:net';
import type { ListenAddress } from './config.ts';

/** Throws a RangeError with a plain message naming what is wrong. */
export function parseListenAddress(text: string): ListenAddress {
  const bracketed = /^\[([^\]]*)\]:(.*)$/.exec(text);
  if (bracketed) {
    if (!isIPv6(bracketed[1]!)) throw new RangeError(`"${bracketed[1]}" in brackets is not an IPv6 address`);
    return { host: bracketed[1]!, port: parsePort(bracketed[2]!) };
  }
  const colon = text.lastIndexOf(':');
  if (colon === -1) {
    throw new RangeError(`"${text}" has no port; write it as host:port, like 127.0.0.1:8080, or :8080 for every interface`);
  }
  const host = text.slice(0, colon);
  if (host.includes(':')) throw new RangeError(`put an IPv6 address in brackets, like [::1]:8080`);
  if (host !== '' && !isIP(host) && !isHostName(host)) {
    throw new RangeError(`"${host}" is not an IP address or host name`);
  }
  return { host: host.toLowerCase(), port: parsePort(text.slice(colon + 1)) };
}

export function formatListenAddress({ host, port }: ListenAddress): string {
  return isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * Two listeners on one port collide when their hosts are equal or either takes every interface. Port 0 picks a
 * free port each time, so it never collides.
 */
export function sameSocket(a: ListenAddress, b: ListenAddress): boolean {
  return a.port !== 0 && a.port === b.port && (a.host === b.host || a.host === '' || b.host === '');
}

/** A DNS name or IPv4 literal, as a Host header carries it without its port. */
export function isHostName(text: string): boolean {
  return HOST_NAME.test(text);
}

/** True for 127.0.0.0/8, ::1 (in any spelling, and IPv4-mapped) and localhost. Other names are not resolved. */
export function isLoopback(host: string): boolean {
  if (host.toLowerCase() === 'localhost') return true;
  const family = isIP(host);
  if (family === 4) return LOOPBACK.check(host, 'ipv4');
  if (family === 6) return LOOPBACK.check(host, 'ipv6');
  return false;
}

// RFC 1123 host names: dot-separated labels of letters, digits and inner dashes.
const HOST_NAME = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/i;

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

function parsePort(text: string): number {
  const port = /^\d{1,5}$/.test(text) ? Number(text) : Number.NaN;
  if (!(port <= 65_535)) throw new RangeError(`port "${text}" is not a number from 0 to 65535`);
  return port;
}
