// Instances write stdout and stderr to files (O_APPEND) rather than pipes, for two reasons: a pipe dies with
// cutover, and an adopted instance then gets EPIPE/SIGPIPE at its next write (Go and Python apps exit on it);
// a file also lets the next cutover run show what the instance wrote before the restart. This reads the new
// bytes of such a file, splits them into lines, and truncates the file when it grows past a bound (the writer
// appends, so its next write lands at the start again, as with logrotate's copytruncate).
import { closeSync, fstatSync, ftruncateSync, openSync, readSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';

export interface OutputTailOptions {
  readonly path: string;
  /** `backlog`: the line was in the file when tailing began at its end, so when it was written is not known. */
  readonly onLine: (text: string, backlog: boolean) => void;
  /** Past this size, and once everything was read, the file is truncated. */
  readonly maxFileBytes?: number;
}

const DEFAULT_MAX_FILE_BYTES = 2 * 1024 * 1024;
const READ_CHUNK_BYTES = 256 * 1024;
/** A "line" longer than this is passed on in pieces rather than held without bound. */
const MAX_LINE_CHARS = 16 * 1024;
/** How much of an existing file is shown when tailing starts at its end. */
const BACKLOG_BYTES = 64 * 1024;

export class OutputTail {
  private fd: number | null = null;
  private offset = 0;
  private partial = '';
  private decoder = new StringDecoder('utf8');
  private readonly buffer = Buffer.alloc(READ_CHUNK_BYTES);

  constructor(private readonly options: OutputTailOptions) {}

  /**
   * Starts reading at the beginning, or near the end (skipping the first, cut line) to show recent output; the
   * lines near the end are passed on at once, as backlog.
   */
  open(at: 'start' | 'end'): void {
    this.fd = openSync(this.options.path, 'r+');
    if (at === 'start') return;
    const size = fstatSync(this.fd).size;
    this.offset = Math.max(0, size - BACKLOG_BYTES);
    if (this.offset > 0) this.skipCutLine();
    this.readTo(size, true);
  }

  /** Reads whatever was appended since the last poll. Synchronous: a page-cached read of a few KB. */
  poll(): void {
    if (this.fd === null) return;
    const size = fstatSync(this.fd).size;
    if (size < this.offset) this.restartAtZero();
    this.readTo(size, false);
    if (this.offset >= (this.options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES)) {
      ftruncateSync(this.fd, 0);
      this.restartAtZero();
    }
  }

  /** Reads the rest, passes on an unfinished last line, and closes the file. */
  close(): void {
    if (this.fd === null) return;
    this.poll();
    if (this.partial !== '') this.options.onLine(this.partial, false);
    this.partial = '';
    closeSync(this.fd);
    this.fd = null;
  }

  private readTo(size: number, backlog: boolean): void {
    while (this.offset < size) {
      const n = readSync(this.fd!, this.buffer, 0, Math.min(READ_CHUNK_BYTES, size - this.offset), this.offset);
      if (n === 0) break;
      this.offset += n;
      this.consume(this.decoder.write(this.buffer.subarray(0, n)), backlog);
    }
  }

  private consume(text: string, backlog: boolean): void {
    const parts = (this.partial + text).split('\n');
    this.partial = parts.pop()!;
    for (const line of parts) this.options.onLine(line.endsWith('\r') ? line.slice(0, -1) : line, backlog);
    while (this.partial.length > MAX_LINE_CHARS) {
      this.options.onLine(this.partial.slice(0, MAX_LINE_CHARS), backlog);
      this.partial = this.partial.slice(MAX_LINE_CHARS);
    }
  }

  private skipCutLine(): void {
    const n = readSync(this.fd!, this.buffer, 0, READ_CHUNK_BYTES, this.offset);
    const newline = this.buffer.subarray(0, n).indexOf(10);
    this.offset += newline === -1 ? n : newline + 1;
  }

  private restartAtZero(): void {
    this.offset = 0;
    this.decoder = new StringDecoder('utf8');
  }
}
