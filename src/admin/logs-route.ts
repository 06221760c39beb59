import type { IncomingMessage, ServerResponse } from 'node:http';
import { BadRequestError } from '../core/errors.ts';
import type { Color } from '../core/types.ts';
import type { EnvironmentDriver, LogLine } from '../drivers/environment-driver.ts';

export const DEFAULT_LOG_LINES = 200;
export const MAX_LOG_LINES = 2_000;
/** A follower that reads slower than its app writes loses lines past this much unsent output, and is told so. */
const MAX_UNSENT_BYTES = 1024 * 1024;

/**
 * `GET /api/apps/:app/logs?env=blue|green&lines=200&follow=1`: the recent output of the instances the app's driver
 * started, as plain text lines `HH:MM:SS blue#0 stdout| text` (UTC). Without `env`, both environments. With
 * `follow=1` the response stays open and new lines are streamed until the client goes away.
 * A line whose time is not known, written by an adopted instance before cutover restarted, starts with
 * `before HH:MM:SS` instead: the time this cutover took the instance over.
 */
export async function serveLogs(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  driver: EnvironmentDriver,
  app: string,
): Promise<void> {
  const { color, lines, follow } = logQuery(url);
  res.writeHead(200, {
    'content-type': 'text/plain; charset=utf-8',
    'cache-control': 'no-store',
    'x-accel-buffering': 'no',
    'x-cutover-driver': driver.kind,
  });
  res.write(recentLines(driver, app, color, lines).map(formatLogLine).join(''));
  if (!follow) {
    res.end();
    return;
  }
  const unfollow = driver.followLogs(app, color, lineWriter(res));
  req.socket.setTimeout(0);
  res.on('close', unfollow);
}

export function formatLogLine(line: LogLine): string {
  const time = new Date(line.at).toISOString().slice(11, 19);
  const when = line.written === 'before' ? `before ${time}` : time;
  return `${when} ${line.color}#${line.instance} ${line.stream}| ${line.text}\n`;
}

function logQuery(url: URL): { color: Color | null; lines: number; follow: boolean } {
  const env = url.searchParams.get('env');
  if (env !== null && env !== 'blue' && env !== 'green') throw new BadRequestError(`env must be blue or green, got "${env}"`);
  const raw = url.searchParams.get('lines');
  const lines = raw === null ? DEFAULT_LOG_LINES : Number(raw);
  if (!Number.isInteger(lines) || lines < 0) throw new BadRequestError(`lines must be a whole number ≥ 0, got "${raw}"`);
  const follow = ['1', 'true'].includes(url.searchParams.get('follow') ?? '');
  return { color: env, lines: Math.min(lines, MAX_LOG_LINES), follow };
}

function recentLines(driver: EnvironmentDriver, app: string, color: Color | null, count: number): LogLine[] {
  if (count === 0) return [];
  const colors: Color[] = color === null ? ['blue', 'green'] : [color];
  const all = colors.flatMap((c) => driver.logs(app, c));
  if (color === null) all.sort((a, b) => a.at - b.at);
  return all.slice(-count);
}

/** Writes each line unless the client is too far behind; then counts what it skipped and says so once it catches up. */
function lineWriter(res: ServerResponse): (line: LogLine) => void {
  let skipped = 0;
  return (line) => {
    if (res.writableLength > MAX_UNSENT_BYTES) {
      skipped++;
      return;
    }
    if (skipped > 0) res.write(`-- ${skipped} line(s) skipped: the client read slower than the app wrote\n`);
    skipped = 0;
    res.write(formatLogLine(line));
  };
}
