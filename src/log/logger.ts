// The process's logger: pino JSON lines on stdout for machines (a pipe, a file, journald), readable coloured lines
// on a terminal for people. CUTOVER_LOG_LEVEL sets the level; CUTOVER_LOG_FORMAT=json|pretty overrides the guess.

import pino from 'pino';
import type { Logger } from '../core/logger.ts';
import { formatLine } from './line-format.ts';

export type LogFormat = 'json' | 'pretty';

export interface LoggerOptions {
  /** Default: CUTOVER_LOG_LEVEL, else info. */
  readonly level?: string;
  /** Default: CUTOVER_LOG_FORMAT, else pretty when the output is a terminal and json otherwise. */
  readonly format?: LogFormat;
  /** Default: on for pretty output unless NO_COLOR is set. */
  readonly colour?: boolean;
  /** Default: stdout. */
  readonly output?: { write(text: string): unknown; readonly isTTY?: boolean };
}

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
const FORMATS: readonly LogFormat[] = ['json', 'pretty'];

export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? process.env.CUTOVER_LOG_LEVEL ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new RangeError(`CUTOVER_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')} (got "${level}")`);
  }
  const output = options.output ?? process.stdout;
  const format = options.format ?? envFormat() ?? (output.isTTY === true ? 'pretty' : 'json');
  const settings = { level, base: { name: 'cutover' } };
  if (format === 'json') return pino(settings, options.output === undefined ? undefined : lineStream(output)) as unknown as Logger;
  const colour = options.colour ?? !process.env.NO_COLOR;
  return pino(settings, prettyStream(output, colour)) as unknown as Logger;
}

function envFormat(): LogFormat | undefined {
  const format = process.env.CUTOVER_LOG_FORMAT;
  if (format === undefined || format === '') return undefined;
  if (!FORMATS.includes(format as LogFormat)) throw new RangeError(`CUTOVER_LOG_FORMAT must be json or pretty (got "${format}")`);
  return format as LogFormat;
}

/** A pino destination that turns each JSON line into a terminal line. */
function prettyStream(output: { write(text: string): unknown }, colour: boolean): pino.DestinationStream {
  return {
    write(chunk: string) {
      for (const line of chunk.split('\n')) {
        if (line === '') continue;
        output.write(`${pretty(line, colour)}\n`);
      }
    },
  };
}

function pretty(line: string, colour: boolean): string {
  try {
    return formatLine(JSON.parse(line) as Record<string, unknown>, { colour });
  } catch {
    return line; // not JSON: shown as it came rather than lost
  }
}

function lineStream(output: { write(text: string): unknown }): pino.DestinationStream {
  return { write: (chunk: string) => void output.write(chunk) };
}
