// A bounded load generator for tests: N clients sending requests back to back for a fixed time, on keep-alive
// connections, or each on a new one.
import { get } from 'node:http';
import { Pool } from 'undici';

export interface Sample {
  readonly start: number;
  readonly end: number;
  readonly status: number;
  readonly body: string;
  readonly error: string | null;
}

export interface LoadOptions {
  readonly url: string;
  readonly clients: number;
  /** The longest the load runs. */
  readonly durationMs: number;
  readonly path?: string;
  /** Ends the load early: for a load that must last as long as something else takes, bounded by `durationMs`. */
  readonly stop?: AbortSignal;
  /** Each request on a new connection, closed after it (as `curl` in a loop does). */
  readonly fresh?: boolean;
}

/** Runs the load and returns every request's outcome. Bounded by time and by a hard request cap. */
export async function runLoad(options: LoadOptions): Promise<Sample[]> {
  const pool = new Pool(options.url, { connections: options.clients, pipelining: 1, keepAliveTimeout: 30_000 });
  const samples: Sample[] = [];
  const stopAt = performance.now() + options.durationMs;
  const maxRequests = 2_000_000;
  const send = options.fresh === true ? () => onceFresh(options.url, options.path ?? '/') : () => once(pool, options.path ?? '/');
  const client = async () => {
    while (performance.now() < stopAt && samples.length < maxRequests && options.stop?.aborted !== true) samples.push(await send());
  };
  await Promise.all(Array.from({ length: options.clients }, client));
  await pool.close();
  return samples;
}

async function once(pool: Pool, path: string): Promise<Sample> {
  const start = performance.now();
  try {
    const res = await pool.request({ path, method: 'GET', headersTimeout: 10_000, bodyTimeout: 10_000 });
    const body = await res.body.text();
    return { start, end: performance.now(), status: res.statusCode, body, error: null };
  } catch (err) {
    return { start, end: performance.now(), status: 0, body: '', error: (err as Error).message };
  }
}

function onceFresh(url: string, path: string): Promise<Sample> {
  const start = performance.now();
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const req = get({ host: hostname, port: Number(port), path, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ start, end: performance.now(), status: res.statusCode ?? 0, body, error: null }));
      res.on('error', (err) => resolve({ start, end: performance.now(), status: 0, body: '', error: err.message }));
    });
    req.setTimeout(10_000, () => req.destroy(new Error('no answer within 10 s')));
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ start, end: performance.now(), status: 0, body: '', error: err.code ?? err.message }));
  });
}

export function countBy<T>(items: readonly T[], key: (item: T) => string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) counts[key(item)] = (counts[key(item)] ?? 0) + 1;
  return counts;
}
