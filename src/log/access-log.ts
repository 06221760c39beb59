// The optional access log: one JSON line per proxied request, to a file or stdout. Lines go through a buffered,
// non-blocking writer (pino's sonic-boom): the data path only appends to a string buffer, while earlier lines are
// being written lines gather, and under load each write carries many of them. The buffer is bounded: a disk that
// cannot keep up loses access lines (counted, and warned about), never the proxy's memory or its latency.

import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import pino from 'pino';
import { silentLogger, type Logger } from '../core/logger.ts';

export interface AccessEntry {
  /** Null for a request no app matched (404 NO_APP). */
  readonly app: string | null;
  /** Null when nothing is live (503 NOT_DEPLOYED) or no app matched. */
  readonly env: string | null;
  /** The target that answered; null when none was reached (502 NO_TARGET, 503 PAUSED). */
  readonly target: string | null;
  readonly method: string;
  readonly status: number;
  /** Response body bytes sent to the client. */
  readonly bytes: number;
  readonly durationMs: number;
}

/** What the proxy calls once per finished request. */
export interface AccessLogSink {
  log(entry: AccessEntry): void;
}

export interface AccessLogOptions {
  /** A file, appended to (its folder is created); null for stdout. */
  readonly path: string | null;
  /** Where dropped lines and write errors are reported. */
  readonly log?: Logger;
  readonly clock?: () => number;
  /** Bytes waiting to be written beyond which new lines are dropped. */
  readonly maxBufferBytes?: number;
}

export const DEFAULT_ACCESS_LOG_BUFFER = 16 * 1024 * 1024;
/** One write to a pipe of at most PIPE_BUF bytes is atomic, so access lines on stdout never tear other logs' lines. */
const PIPE_BUF = 4096;
const DROP_WARNING_EVERY_MS = 10_000;

export class AccessLog implements AccessLogSink {
  private readonly stream: ReturnType<typeof pino.destination>;
  private readonly clock: () => number;
  private readonly logger: Logger;
  private droppedLines = 0;
  private lastDropWarning = -Infinity;
  private closed: Promise<void> | null = null;

  /** Opens the file at once, so a path that cannot be written fails the start with its reason. */
  constructor(private readonly options: AccessLogOptions) {
    this.clock = options.clock ?? Date.now;
    this.logger = options.log ?? silentLogger;
    if (options.path !== null) checkWritable(options.path);
    this.stream = pino.destination({
      dest: options.path ?? 1,
      sync: false,
      append: true,
      maxLength: options.maxBufferBytes ?? DEFAULT_ACCESS_LOG_BUFFER,
      ...(options.path === null ? { maxWrite: PIPE_BUF } : {}),
    });
    this.stream.on('drop', this.onDrop);
    this.stream.on('error', (err: Error) => this.logger.error({ err, path: options.path ?? 'stdout' }, 'the access log cannot be written'));
  }

  /** Lines dropped because the writer fell more than the buffer behind. */
  get dropped(): number {
    return this.droppedLines;
  }

  log(entry: AccessEntry): void {
    if (this.closed !== null) return;
    this.stream.write(accessLine(entry, this.clock()));
  }

  /** Writes the log to a new file of the same name, e.g. after logrotate moved the old one. */
  reopen(): void {
    if (this.options.path !== null && this.closed === null) this.stream.reopen();
  }

  /** Writes out every buffered line, then closes the file (stdout stays open). */
  close(): Promise<void> {
    this.closed ??= new Promise<void>((resolve) => {
      this.stream.once('close', () => resolve());
      this.stream.end();
    });
    return this.closed;
  }

  private readonly onDrop = (): void => {
    this.droppedLines++;
    const now = this.clock();
    if (now - this.lastDropWarning < DROP_WARNING_EVERY_MS) return;
    this.lastDropWarning = now;
    this.logger.warn({ path: this.options.path ?? 'stdout', dropped: this.droppedLines }, 'the access log falls behind; lines are being dropped');
  };
}

/** One JSON line. Built by hand: fixed keys, and only the strings need JSON's escaping. */
export function accessLine(e: AccessEntry, at: number): string {
  const ms = Math.round(e.durationMs * 1000) / 1000;
  return `{"time":"${new Date(at).toISOString()}","app":${text(e.app)},"env":${text(e.env)},"target":${text(e.target)},` +
    `"method":${text(e.method)},"status":${e.status},"bytes":${e.bytes},"durationMs":${ms}}\n`;
}

function text(value: string | null): string {
  return value === null ? 'null' : JSON.stringify(value);
}

function checkWritable(path: string): void {
  mkdirSync(dirname(path), { recursive: true });
  closeSync(openSync(path, 'a'));
}
