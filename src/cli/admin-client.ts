import { request } from 'undici';
import { CutoverError } from '../core/errors.ts';

export const DEFAULT_ADMIN_URL = 'http://127.0.0.1:9900';

export interface AdminClientOptions {
  readonly url: string;
  readonly token: string | null;
}

/** The CLI's only way into cutover: JSON calls to the admin API, with its errors turned into CutoverErrors. */
export class AdminClient {
  constructor(private readonly options: AdminClientOptions) {}

  get<T>(path: string): Promise<T> {
    return this.call<T>('GET', path);
  }

  post<T>(path: string, body: unknown = {}): Promise<T> {
    return this.call<T>('POST', path, body);
  }

  private async call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.options.token) headers.authorization = `Bearer ${this.options.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res;
    try {
      res = await request(new URL(path, this.options.url), {
        method,
        headers,
        body: body === undefined ? null : JSON.stringify(body),
        headersTimeout: 30_000,
      });
    } catch (err) {
      const reason = (err as { code?: string }).code === 'ECONNREFUSED' ? 'connection refused' : (err as Error).message;
      throw new CutoverError('ADMIN_UNREACHABLE', 503, `cannot reach the admin API at ${this.options.url}: ${reason} (is \`cutover serve\` running? set --admin or CUTOVER_ADMIN)`, { cause: err });
    }
    const text = await res.body.text();
    const parsed = parseJson(text);
    if (res.statusCode >= 400) throw apiError(res.statusCode, parsed, text);
    return parsed as T;
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

function apiError(status: number, parsed: unknown, text: string): CutoverError {
  const error = (parsed as { error?: { code?: string; message?: string; details?: unknown } } | null)?.error;
  if (error?.code && error.message) return new CutoverError(error.code, status, error.message, { details: error.details });
  return new CutoverError('ADMIN_ERROR', status, `the admin API answered ${status}: ${text.slice(0, 200)}`);
}
