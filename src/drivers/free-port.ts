import { createServer } from 'node:net';

export const LOOPBACK = '127.0.0.1';

/** A port nobody listens on right now: bind port 0, read what the kernel gave, close. */
export async function freePort(): Promise<number> {
  return (await tryBind(0))!;
}

/** Whether `port` can be bound on loopback right now (used to keep a restored instance on its old port). */
export async function portIsFree(port: number): Promise<boolean> {
  return (await tryBind(port)) !== null;
}

function tryBind(port: number): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', (err: NodeJS.ErrnoException) => (port !== 0 && err.code === 'EADDRINUSE' ? resolve(null) : reject(err)));
    server.listen(port, LOOPBACK, () => {
      const bound = (server.address() as { port: number }).port;
      server.close(() => resolve(bound));
    });
  });
}
