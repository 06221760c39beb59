import { Command, Option } from 'commander';
import { request } from 'undici';
import { CutoverError } from '../core/errors.ts';
import { DEFAULT_ADMIN_URL } from './admin-client.ts';
import { contextOf } from './context.ts';
import { paint, type Output } from './output.ts';
import { wholeNumber } from './whole-number.ts';

/** `cutover logs APP [--env blue|green] [--follow] [-n 200]`: output of the instances a driver started. */
export function logsCommand(): Command {
  return new Command('logs')
    .description('output of the instances a driver started')
    .argument('<app>', 'the app')
    .addOption(new Option('--env <color>', 'one environment (default: both)').choices(['blue', 'green']))
    .option('-f, --follow', 'keep streaming new lines')
    .option('-n, --lines <n>', 'how many recent lines', wholeNumber(0), 200)
    .action(async (app: string, opts: LogsOptions, command: Command) => {
      const { out } = contextOf(command);
      const query = new URLSearchParams({ lines: String(opts.lines) });
      if (opts.env) query.set('env', opts.env);
      if (opts.follow) query.set('follow', '1');
      const path = `/api/apps/${encodeURIComponent(app)}/logs?${query}`;
      const { lines, driver } = await streamLines(adminOf(command), path, (line) => out.line(colourLine(out, line)));
      if (lines === 0 && driver === 'static') out.error(`${app} uses the static driver: cutover runs nothing for it, so it has no output to show`);
    });
}

interface LogsOptions {
  readonly env?: 'blue' | 'green';
  readonly follow?: boolean;
  readonly lines: number;
}

interface Admin {
  readonly url: string;
  readonly token: string | null;
}

/** The same admin URL and token as every other verb (contextOf); the AdminClient only speaks JSON. */
function adminOf(command: Command): Admin {
  const globals = command.optsWithGlobals<{ admin?: string }>();
  return { url: globals.admin ?? process.env.CUTOVER_ADMIN ?? DEFAULT_ADMIN_URL, token: process.env.CUTOVER_TOKEN ?? null };
}

/** GETs a text stream and hands over each line as it arrives; resolves when the server ends the response. */
async function streamLines(admin: Admin, path: string, onLine: (line: string) => void): Promise<{ lines: number; driver: string | null }> {
  const headers: Record<string, string> = { accept: 'text/plain' };
  if (admin.token) headers.authorization = `Bearer ${admin.token}`;
  let res;
  try {
    res = await request(new URL(path, admin.url), { method: 'GET', headers, headersTimeout: 30_000, bodyTimeout: 0 });
  } catch (err) {
    const reason = (err as { code?: string }).code === 'ECONNREFUSED' ? 'connection refused' : (err as Error).message;
    throw new CutoverError('ADMIN_UNREACHABLE', 503, `cannot reach the admin API at ${admin.url}: ${reason} (is \`cutover serve\` running? set --admin or CUTOVER_ADMIN)`, { cause: err });
  }
  if (res.statusCode >= 400) throw apiError(res.statusCode, await res.body.text());
  let partial = '';
  let lines = 0;
  res.body.setEncoding('utf8');
  for await (const chunk of res.body as AsyncIterable<string>) {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop()!;
    for (const line of parts) onLine(line);
    lines += parts.length;
  }
  if (partial !== '') onLine(partial);
  return { lines, driver: headerValue(res.headers['x-cutover-driver']) };
}

/** Colours the `blue#0` / `green#1` of a line on a terminal, and dims its time (`12:00:01` or `before 12:00:01`). */
function colourLine(out: Output, line: string): string {
  const match = /^((?:before )?\S+ )((blue|green)#\d+)( .*)$/.exec(line);
  if (match === null) return line;
  return `${paint(out, 'dim', match[1]!.trimEnd())} ${paint(out, match[3] as 'blue' | 'green', match[2]!)}${match[4]}`;
}

function apiError(status: number, text: string): CutoverError {
  try {
    const error = (JSON.parse(text) as { error?: { code?: string; message?: string } }).error;
    if (error?.code && error.message) return new CutoverError(error.code, status, error.message);
  } catch {
    // not JSON: fall through
  }
  return new CutoverError('ADMIN_ERROR', status, `the admin API answered ${status}: ${text.slice(0, 200)}`);
}

function headerValue(value: string | string[] | undefined): string | null {
  return Array.isArray(value) ? (value[0] ?? null) : (value ?? null);
}
