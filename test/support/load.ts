// A bounded load generator for tests: N keep-alive clients sending requests back to back for a fixed time.
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
}

/** Runs the load and returns every request's outcome. Bounded by time and by a hard request cap. */
export async function runLoad(options: LoadOptions): Promise<Sample[]> {
  const pool = new Pool(options.url, { connections: options.clients, pipelining: 1, keepAliveTimeout: 30_000 });
  const samples: Sample[] = [];
  const stopAt = performance.now() + options.durationMs;
  const maxRequests = 2_000_000;
  const client = async () => {
    while (performance.now() < stopAt && samples.length < maxRequests && options.stop?.aborted !== true) samples.push(await once(pool, options.path ?? '/'));
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

export function countBy<T>(items: readonly T[], key: (item: T) => string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) counts[key(item)] = (counts[key(item)] ?? 0) + 1;
  return counts;
}
