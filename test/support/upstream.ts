// Real upstream servers for tests: each answers with its own name, on a free loopback port.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';

export interface Upstream {
  readonly name: string;
  readonly url: string;
  readonly server: Server;
  requests: number;
  healthy: boolean;
  close(): Promise<void>;
}

export type Handler = (req: IncomingMessage, res: ServerResponse, upstream: Upstream) => void;

/** `GET /healthz` answers 200 while `healthy`; everything else goes to `handler` (default: the name as body). */
export async function startUpstream(t: TestContext | null, name: string, handler: Handler = answerName): Promise<Upstream> {
  const upstream: Upstream = {
    name,
    url: '',
    server: createServer((req, res) => {
      if (req.url === '/healthz') {
        res.writeHead(upstream.healthy ? 200 : 503).end();
        return;
      }
      upstream.requests++;
      handler(req, res, upstream);
    }),
    requests: 0,
    healthy: true,
    close: () => closeServer(upstream.server),
  };
  await new Promise<void>((resolve) => upstream.server.listen(0, '127.0.0.1', resolve));
  (upstream as { url: string }).url = `http://127.0.0.1:${(upstream.server.address() as AddressInfo).port}`;
  t?.after(() => upstream.close());
  return upstream;
}

export function answerName(req: IncomingMessage, res: ServerResponse, upstream: Upstream): void {
  req.resume();
  req.on('end', () => res.writeHead(200, { 'content-type': 'text/plain', 'x-upstream': upstream.name }).end(upstream.name));
}

export function closeServer(server: Server): Promise<void> {
  if (!server.listening) return Promise.resolve();
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

let deadUrls = 0;

/**
 * A URL nothing listens on: port 1 (never bound by the tests) on an address of its own in 127.0.0.0/8, so each
 * call gives a distinct target and a connection to it is refused at once. Not an ephemeral port opened and closed
 * again: under parallel test files another test's server could be given that port meanwhile, and answer.
 */
export async function deadUrl(): Promise<string> {
  deadUrls++;
  return `http://127.0.${1 + Math.floor(deadUrls / 250)}.${1 + (deadUrls % 250)}:1`;
}
