// HTTP/1.1 over a bare TCP socket, for tests that must send bytes no HTTP client would: exact request bytes in,
// every response byte out, parsed by a small RFC 9112 reader that trusts nothing about the server.
import { connect, type Socket } from 'node:net';

export interface RawResponse {
  readonly statusLine: string;
  readonly status: number;
  /** Field lines in order, names lower-cased. */
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly body: Buffer;
  readonly trailers: ReadonlyArray<readonly [string, string]>;
}

export interface Exchange {
  /** Every byte the server sent. */
  readonly raw: Buffer;
  readonly responses: RawResponse[];
  /** The server ended or reset the connection before the timeout. */
  readonly closed: boolean;
  /** A socket error such as ECONNRESET, or null. */
  readonly error: string | null;
}

/** The first value of a response field (name in any case). */
export function field(res: RawResponse, name: string): string | undefined {
  return res.headers.find(([n]) => n === name.toLowerCase())?.[1];
}

/** `bytes` is latin1, so `\x00`, `\x7f` or `\xe9` go on the wire as exactly that one octet. */
export function octets(bytes: string | Buffer): Buffer {
  return typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes;
}

/**
 * Sends `bytes` on a fresh connection and reads until the server closes it or `timeoutMs` passes. `methods` names
 * the request of each response in turn (a HEAD response has no body); GET by default.
 */
export async function exchange(url: string, bytes: string | Buffer, options: { timeoutMs?: number; methods?: string[] } = {}): Promise<Exchange> {
  const conn = await RawConnection.open(url);
  try {
    conn.write(bytes);
    const closed = await conn.closed(options.timeoutMs ?? 2_000);
    return { raw: conn.received, responses: parseAll(conn.received, options.methods ?? [], closed), closed, error: conn.error };
  } finally {
    conn.destroy();
  }
}

/** One client connection: write bytes when the test says, read responses one at a time. */
export class RawConnection {
  error: string | null = null;
  private chunks: Buffer[] = [];
  private cursor = 0;
  private ended = false;
  private wake: (() => void) | null = null;

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.chunks.push(chunk);
      this.notify();
    });
    socket.on('error', (err: NodeJS.ErrnoException) => (this.error = err.code ?? err.message));
    socket.on('close', () => {
      this.ended = true;
      this.notify();
    });
  }

  /** A connection to `url` for `use`, destroyed once it is done, whatever happened. */
  static async with<T>(url: string, use: (conn: RawConnection) => Promise<T>): Promise<T> {
    const conn = await RawConnection.open(url);
    try {
      return await use(conn);
    } finally {
      conn.destroy();
    }
  }

  static open(url: string): Promise<RawConnection> {
    const { hostname, port } = new URL(url);
    return new Promise((resolve, reject) => {
      const socket = connect({ host: hostname, port: Number(port) }, () => {
        socket.off('error', reject);
        resolve(new RawConnection(socket));
      });
      socket.once('error', reject);
    });
  }

  get received(): Buffer {
    return Buffer.concat(this.chunks);
  }

  get isClosed(): boolean {
    return this.ended;
  }

  write(bytes: string | Buffer): void {
    this.socket.write(octets(bytes));
  }

  /** The next complete response on this connection (a 1xx counts as one); throws on timeout or early close. */
  async nextResponse(method = 'GET', timeoutMs = 2_000): Promise<RawResponse> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const parsed = parseResponse(this.received, this.cursor, method, this.ended);
      if (parsed !== null) {
        this.cursor = parsed.next;
        return parsed.response;
      }
      if (this.ended) throw new Error(`connection closed before a complete response; got ${JSON.stringify(this.received.subarray(this.cursor).toString('latin1'))}`);
      if (!(await this.waitForData(deadline - Date.now()))) {
        throw new Error(`no complete response within ${timeoutMs} ms; got ${JSON.stringify(this.received.subarray(this.cursor).toString('latin1'))}`);
      }
    }
  }

  /** Waits until the server closes the connection; false if it is still open after `timeoutMs`. */
  async closed(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.ended) if (!(await this.waitForData(deadline - Date.now()))) return false;
    return true;
  }

  destroy(): void {
    this.socket.destroy();
  }

  private waitForData(ms: number): Promise<boolean> {
    if (ms <= 0) return Promise.resolve(false);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = null;
        resolve(false);
      }, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve(true);
      };
    });
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }
}

/** Every complete response in `raw`; stops at the first that is incomplete or unparsable. */
export function parseAll(raw: Buffer, methods: readonly string[], ended: boolean): RawResponse[] {
  const out: RawResponse[] = [];
  let offset = 0;
  let request = 0;
  while (offset < raw.length) {
    let parsed: { response: RawResponse; next: number } | null;
    try {
      parsed = parseResponse(raw, offset, methods[request] ?? 'GET', ended);
    } catch {
      break;
    }
    if (parsed === null) break;
    out.push(parsed.response);
    offset = parsed.next;
    if (parsed.response.status >= 200) request++;
  }
  return out;
}

/**
 * The response starting at `offset`, or null while it is incomplete. Body length per RFC 9112 §6.3: none for HEAD,
 * 1xx, 204 and 304; chunked; Content-Length; else until the connection closes.
 */
export function parseResponse(raw: Buffer, offset: number, method: string, ended: boolean): { response: RawResponse; next: number } | null {
  const headEnd = raw.indexOf('\r\n\r\n', offset, 'latin1');
  if (headEnd < 0) return null;
  const [statusLine, ...lines] = raw.subarray(offset, headEnd).toString('latin1').split('\r\n');
  const match = /^HTTP\/\d\.\d (\d{3})(?: .*)?$/.exec(statusLine!);
  if (match === null) throw new Error(`not a status line: ${JSON.stringify(statusLine)}`);
  const status = Number(match[1]);
  const headers = lines.map(fieldLine);
  const response = (body: Buffer, trailers: Array<readonly [string, string]>, next: number) => ({ response: { statusLine: statusLine!, status, headers, body, trailers }, next });
  const start = headEnd + 4;
  if (method === 'HEAD' || status < 200 || status === 204 || status === 304) return response(Buffer.alloc(0), [], start);
  const te = headers.find(([n]) => n === 'transfer-encoding')?.[1];
  if (te !== undefined && /chunked\s*$/i.test(te)) {
    const chunked = readChunked(raw, start);
    return chunked === null ? null : response(chunked.body, chunked.trailers, chunked.next);
  }
  const length = headers.find(([n]) => n === 'content-length')?.[1];
  if (length !== undefined) {
    const end = start + Number(length);
    return raw.length < end ? null : response(raw.subarray(start, end), [], end);
  }
  return ended ? response(raw.subarray(start), [], raw.length) : null;
}

function fieldLine(line: string): readonly [string, string] {
  const colon = line.indexOf(':');
  return [line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()];
}

function readChunked(raw: Buffer, offset: number): { body: Buffer; trailers: Array<readonly [string, string]>; next: number } | null {
  const parts: Buffer[] = [];
  for (let at = offset; ; ) {
    const lineEnd = raw.indexOf('\r\n', at, 'latin1');
    if (lineEnd < 0) return null;
    const size = parseInt(raw.subarray(at, lineEnd).toString('latin1'), 16);
    if (Number.isNaN(size)) throw new Error('bad chunk size in response');
    if (size === 0) {
      const end = raw.indexOf('\r\n\r\n', lineEnd, 'latin1');
      if (end < 0) return null;
      const trailerText = end === lineEnd ? '' : raw.subarray(lineEnd + 2, end).toString('latin1');
      const trailers = trailerText === '' ? [] : trailerText.split('\r\n').map(fieldLine);
      return { body: Buffer.concat(parts), trailers, next: end + 4 };
    }
    if (raw.length < lineEnd + 2 + size + 2) return null;
    parts.push(raw.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
}
