import { connect, type Socket } from 'node:net';
import { UpstreamConnectionError } from './upstream-connection-error.ts';

/** Opens one connection to an upstream: `callback` gets the open socket, or why it could not be opened. */
export type Connector = (callback: (err: Error | null, socket: Socket | null) => void) => void;

/** A TCP connector for an `http://host:port` origin; an attempt that has not connected after `timeoutMs` fails. */
export function tcpConnector(origin: string, timeoutMs: number): Connector {
  const { hostname, port } = new URL(origin);
  // An IPv6 literal comes bracketed in a URL and bare to connect().
  const host = hostname.startsWith('[') ? hostname.slice(1, -1) : hostname;
  return (callback) => {
    const socket = connect({ host, port: Number(port), noDelay: true });
    const onError = (err: Error) => {
      socket.off('connect', onConnect).off('timeout', onTimeout).setTimeout(0);
      socket.destroy();
      callback(err, null);
    };
    const onTimeout = () => onError(new UpstreamConnectionError('CONNECT_TIMEOUT', `did not accept the connection within ${timeoutMs} ms`));
    const onConnect = () => {
      socket.off('error', onError).off('timeout', onTimeout).setTimeout(0);
      callback(null, socket);
    };
    socket.once('connect', onConnect).once('error', onError).once('timeout', onTimeout).setTimeout(timeoutMs);
  };
}
