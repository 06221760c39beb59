import { UpstreamConnectionError } from './upstream-connection-error.ts';

/** A final response's head (RFC 9112 §4, §5). */
export interface ResponseHead {
  readonly status: number;
  readonly statusText: string;
  /** Every field as it came, flat: [name, value, name, value, ...], values without surrounding whitespace. */
  readonly headers: string[];
}

/** Where a parsed response goes. */
export interface ResponseSink {
  onHead(head: ResponseHead): void;
  /** A piece of the body, decoded from chunked framing. */
  onBody(chunk: Buffer): void;
  onEnd(): void;
}

/** A response head this large is refused: the limit Node's own client and server apply, times four. */
export const MAX_HEAD_BYTES = 64 * 1024;
/** A chunk-size line (with its extensions) or a trailer line this long is refused. */
const MAX_LINE_BYTES = 4 * 1024;
const CRLF_CRLF = Buffer.from('\r\n\r\n');
/** RFC 9112 §2.2: a recipient may take a bare LF as a line's end; some old servers end their lines so. */
const LF_LF = Buffer.from('\n\n');
const CR = 0x0d;
const LF = 0x0a;
/** `HTTP/1.1 200` is the shortest status line that can be read. */
const STATUS_LINE = /^HTTP\/1\.([01]) (\d{3})(?: (.*))?$/;
const DIGITS = /^\d{1,15}$/;
const HEX = /^[0-9a-fA-F]+$/;
/** Hex digits of a chunk size, leading zeros aside, at most: 2^52, past any body. */
const MAX_SIZE_DIGITS = 13;

const enum Phase {
  /** No request is waiting for an answer: any byte from the upstream is an error. */
  Idle,
  Head,
  /** A body of `remaining` bytes (Content-Length). */
  Sized,
  ChunkSize,
  ChunkData,
  /** The CRLF after a chunk's data. */
  ChunkEnd,
  Trailers,
  /** A body that ends when the connection does (RFC 9112 §6.3, rule 8). */
  UntilClose,
}

/**
 * Reads HTTP/1.1 responses off one upstream connection, one per request (no pipelining), as bytes come. 1xx
 * responses are read and skipped (RFC 9110 §15.2: a client must be able to parse them, asked for or not). The body
 * is framed by RFC 9112 §6.3: none after a HEAD, a 204 or a 304; chunked when Transfer-Encoding ends with chunked;
 * else by Content-Length; else until the connection closes. Malformed input throws an UpstreamConnectionError.
 */
export class ResponseParser {
  private phase = Phase.Idle;
  private noBody = false;
  /** Bytes of the head (or of a chunk-size or trailer line) that came in earlier pieces. */
  private partial: Buffer | null = null;
  private remaining = 0;
  /** Whether the connection may carry another request after this response. */
  reusable = false;
  /** From the response's `Keep-Alive: timeout=N` (RFC 9112 §9.3 leaves it to the server), in ms; -1: none given. */
  keepAliveMs = -1;

  constructor(private readonly sink: ResponseSink) {}

  /** Whether a response is under way (asked for and not yet complete). */
  get busy(): boolean {
    return this.phase !== Phase.Idle;
  }

  /** The answer to a request is expected next; `head`: the request was a HEAD, so no body follows. */
  expect(head: boolean): void {
    this.phase = Phase.Head;
    this.noBody = head;
    this.partial = null;
    this.reusable = false;
    this.keepAliveMs = -1;
  }

  /** Reads `data`; bytes beyond the end of the response, or with none expected, throw. */
  feed(data: Buffer): void {
    let at = 0;
    while (at < data.length) {
      if (this.phase === Phase.Idle) throw new UpstreamConnectionError('BAD_RESPONSE', 'sent bytes with no request waiting for them');
      at = this.step(data, at);
    }
  }

  /** The connection ended: completes a body read until close; true if that ended the response. */
  closed(): boolean {
    if (this.phase !== Phase.UntilClose) return false;
    this.phase = Phase.Idle;
    this.sink.onEnd();
    return true;
  }

  /** One step from `at`; returns where the next starts. */
  private step(data: Buffer, at: number): number {
    switch (this.phase) {
      case Phase.Head:
        return this.readHead(data, at);
      case Phase.Sized:
        return this.readSized(data, at);
      case Phase.ChunkSize:
        return this.readLine(data, at, (line) => this.chunkSize(line));
      case Phase.ChunkData:
        return this.readChunkData(data, at);
      case Phase.ChunkEnd:
        return this.readChunkEnd(data, at);
      case Phase.Trailers:
        return this.readLine(data, at, (line) => this.trailer(line));
      default:
        this.sink.onBody(at === 0 ? data : data.subarray(at));
        return data.length;
    }
  }

  private readHead(data: Buffer, at: number): number {
    const buffer = this.joined(data, at);
    let end = buffer.indexOf(CRLF_CRLF);
    let endLength = 4;
    if (end === -1) {
      end = buffer.indexOf(LF_LF);
      endLength = end > 0 && buffer[end - 1] === CR ? 3 : 2;
      if (endLength === 3) end--;
    }
    if (end === -1 || end > MAX_HEAD_BYTES) {
      if (end > MAX_HEAD_BYTES || buffer.length > MAX_HEAD_BYTES) throw new UpstreamConnectionError('BAD_RESPONSE', `sent a response head over ${MAX_HEAD_BYTES} bytes`);
      this.partial = buffer;
      return data.length;
    }
    this.partial = null;
    // Where the head ended, counted in `data`: the bytes of earlier pieces come first in `buffer`.
    const consumed = end + endLength - (buffer.length - (data.length - at));
    this.head(buffer.toString('latin1', 0, end), endLength !== 4);
    return at + consumed;
  }

  private head(text: string, bareLf: boolean): void {
    const lines = bareLf ? text.split(/\r?\n/) : text.split('\r\n');
    const status = STATUS_LINE.exec(lines[0]!);
    if (status === null) throw new UpstreamConnectionError('BAD_RESPONSE', `sent a malformed status line: ${JSON.stringify(lines[0]!.slice(0, 80))}`);
    const code = Number(status[2]);
    if (code < 100) throw new UpstreamConnectionError('BAD_RESPONSE', `sent status ${status[2]}, which no response has`);
    const fields = readFields(lines);
    if (code < 200) {
      // 101 switches protocols, which only an upgrade asks for; other 1xx are interim and skipped.
      if (code === 101) throw new UpstreamConnectionError('BAD_RESPONSE', 'switched protocols (101) for a request that did not ask to');
      this.phase = Phase.Head;
      return;
    }
    this.frame(code, status[1] === '1', fields);
    this.sink.onHead({ status: code, statusText: status[3] ?? '', headers: fields.headers });
    if (this.phase === Phase.Idle) this.sink.onEnd();
  }

  /** Sets how the body is framed, and whether the connection may be reused after it (RFC 9112 §6.3, §9.3). */
  private frame(status: number, http11: boolean, fields: Fields): void {
    this.reusable = http11 && !fields.close;
    this.keepAliveMs = fields.keepAliveMs;
    if (this.noBody || status === 204 || status === 304) {
      this.phase = Phase.Idle;
      return;
    }
    // `identity` (from RFC 2616, since removed) is no coding at all: old servers still send it.
    const codings = fields.transferEncoding?.replace(/(?:^|,)\s*identity\s*(?=,|$)/gi, '').replace(/^\s*,/, '').trim() ?? '';
    if (codings !== '') {
      // Only chunked is decoded. Another coding would reach the client undeclared (Transfer-Encoding is hop-by-hop).
      if (!/^chunked$/i.test(codings)) {
        throw new UpstreamConnectionError('BAD_RESPONSE', `sent a transfer coding other than chunked (${JSON.stringify(fields.transferEncoding!.slice(0, 40))})`);
      }
      // Transfer-Encoding overrides Content-Length, which a proxy must remove, and a message with both must not be
      // followed on its connection (RFC 9112 §6.1, §6.3): it may be an attempt to smuggle one.
      if (fields.contentLength !== null) {
        this.reusable = false;
        removeContentLength(fields.headers);
      }
      this.phase = Phase.ChunkSize;
      return;
    }
    if (fields.contentLength !== null) {
      this.remaining = contentLength(fields.contentLength);
      this.phase = this.remaining === 0 ? Phase.Idle : Phase.Sized;
      return;
    }
    this.untilClose();
  }

  private untilClose(): void {
    this.phase = Phase.UntilClose;
    this.reusable = false;
  }

  private readSized(data: Buffer, at: number): number {
    const take = Math.min(this.remaining, data.length - at);
    this.remaining -= take;
    this.sink.onBody(at === 0 && take === data.length ? data : data.subarray(at, at + take));
    if (this.remaining === 0) this.finish();
    return at + take;
  }

  private readChunkData(data: Buffer, at: number): number {
    const take = Math.min(this.remaining, data.length - at);
    this.remaining -= take;
    this.sink.onBody(data.subarray(at, at + take));
    if (this.remaining === 0) this.phase = Phase.ChunkEnd;
    return at + take;
  }

  /** The CRLF (or bare LF) after a chunk's data, possibly split across pieces; `remaining` is 1 once its CR is read. */
  private readChunkEnd(data: Buffer, at: number): number {
    const byte = data[at];
    if (byte === CR && this.remaining === 0) {
      this.remaining = 1;
      return at + 1;
    }
    if (byte !== LF) throw new UpstreamConnectionError('BAD_RESPONSE', 'sent a chunk not followed by CRLF');
    this.remaining = 0;
    this.phase = Phase.ChunkSize;
    return at + 1;
  }

  /** Hands a whole CRLF-ended line (without it) to `use`, once it has come; lines are short, so they are copied. */
  private readLine(data: Buffer, at: number, use: (line: string) => void): number {
    const lf = data.indexOf(LF, at);
    if (lf === -1) {
      this.partial = this.joined(data, at);
      if (this.partial.length > MAX_LINE_BYTES) throw new UpstreamConnectionError('BAD_RESPONSE', 'sent a chunk-size or trailer line too long');
      return data.length;
    }
    const line = this.joined(data.subarray(0, lf + 1), at);
    this.partial = null;
    // The line without its CRLF, or its bare LF (RFC 9112 §2.2).
    use(line.toString('latin1', 0, line.length - (line.length > 1 && line[line.length - 2] === CR ? 2 : 1)));
    return lf + 1;
  }

  private chunkSize(line: string): void {
    // Chunk extensions (after `;`) are allowed and ignored (RFC 9112 §7.1.1).
    const semicolon = line.indexOf(';');
    const hex = (semicolon === -1 ? line : line.slice(0, semicolon)).trimEnd();
    // Any number of digits (RFC 9112 §7.1: 1*HEXDIG), leading zeros included, but no size no body could have.
    if (!HEX.test(hex) || hex.replace(/^0+(?=.)/, '').length > MAX_SIZE_DIGITS) {
      throw new UpstreamConnectionError('BAD_RESPONSE', `sent a malformed chunk size: ${JSON.stringify(line.slice(0, 40))}`);
    }
    this.remaining = parseInt(hex, 16);
    this.phase = this.remaining === 0 ? Phase.Trailers : Phase.ChunkData;
  }

  /** Trailer fields are read and dropped (cutover does not relay them); an empty line ends the response. */
  private trailer(line: string): void {
    if (line === '') this.finish();
  }

  private finish(): void {
    this.phase = Phase.Idle;
    this.sink.onEnd();
  }

  /** `data` from `at`, after the bytes kept from earlier pieces. */
  private joined(data: Buffer, at: number): Buffer {
    const rest = at === 0 ? data : data.subarray(at);
    return this.partial === null ? rest : Buffer.concat([this.partial, rest]);
  }
}

interface Fields {
  readonly headers: string[];
  readonly contentLength: string | null;
  readonly transferEncoding: string | null;
  /** `Connection: close` (RFC 9112 §9.6). */
  readonly close: boolean;
  readonly keepAliveMs: number;
}

/** The header fields after the status line, with what framing and reuse depend on picked out. */
function readFields(lines: readonly string[]): Fields {
  const headers: string[] = [];
  let contentLength: string | null = null;
  let transferEncoding: string | null = null;
  let close = false;
  let keepAliveMs = -1;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(':');
    // No name, whitespace before the colon (RFC 9112 §5.1), or a line folded onto the one before (§5.2).
    if (colon < 1 || line.charCodeAt(colon - 1) <= 0x20 || line.charCodeAt(0) <= 0x20) {
      throw new UpstreamConnectionError('BAD_RESPONSE', `sent a malformed header line: ${JSON.stringify(line.slice(0, 80))}`);
    }
    const name = line.slice(0, colon);
    const value = line.slice(colon + 1).trim();
    headers.push(name, value);
    // Only names of these lengths can be one of the four read here.
    const n = name.length;
    if (n !== 10 && n !== 14 && n !== 17) continue;
    const lower = name.toLowerCase();
    if (lower === 'content-length') contentLength = contentLength === null ? value : `${contentLength},${value}`;
    else if (lower === 'transfer-encoding') transferEncoding = transferEncoding === null ? value : `${transferEncoding},${value}`;
    else if (lower === 'connection') close ||= /(?:^|,)\s*close\s*(?:,|$)/i.test(value);
    else if (lower === 'keep-alive') keepAliveMs = keepAliveTimeout(value) ?? keepAliveMs;
  }
  return { headers, contentLength, transferEncoding, close, keepAliveMs };
}

/** Removes every Content-Length field from flat `headers`, in place. */
function removeContentLength(headers: string[]): void {
  for (let i = headers.length - 2; i >= 0; i -= 2) {
    if (headers[i]!.toLowerCase() === 'content-length') headers.splice(i, 2);
  }
}

/** A Content-Length, which may repeat one value in a list (RFC 9110 §8.6); anything else is refused. */
function contentLength(value: string): number {
  const values = value.includes(',') ? value.split(',').map((v) => v.trim()) : [value];
  if (!values.every((v) => v === values[0] && DIGITS.test(v))) {
    throw new UpstreamConnectionError('BAD_RESPONSE', `sent an invalid Content-Length: ${JSON.stringify(value.slice(0, 40))}`);
  }
  return Number(values[0]);
}

/** `timeout=N` of a Keep-Alive field, in ms. */
function keepAliveTimeout(value: string): number | null {
  const match = /(?:^|[,;\s])timeout\s*=\s*(\d{1,6})/i.exec(value);
  return match === null ? null : Number(match[1]) * 1000;
}
