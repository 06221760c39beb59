import { Command, InvalidArgumentError, Option } from 'commander';
import type { AppStatus } from '../admin/app-status.ts';
import { parseDuration } from '../config/duration.ts';
import { contextOf } from './context.ts';
import { clockTime } from './output.ts';

/** `cutover pause APP [--max 30s]`: hold new requests (bounded queue and time), e.g. for a migration. */
export function pauseCommand(): Command {
  return new Command('pause')
    .description('hold new requests to the app (bounded queue and time), e.g. for a migration')
    .argument('<app>', 'the app')
    .addOption(new Option('--max <duration>', 'the pause ends by itself after this long (at most 10m)').argParser(durationFlag).default(30_000, '30s'))
    .action(async (app: string, opts: { max: number }, command: Command) => {
      const { client, out, who } = contextOf(command);
      const status = await client.post<AppStatus>(`/api/apps/${encodeURIComponent(app)}/pause`, { maxMs: opts.max, who });
      // A pause shorter than the call's round trip is over by the time it is answered.
      if (status.paused === null) return out.line(`${app}: paused, and already resumed: the pause was shorter than this call took`);
      out.line(`${app}: paused; new requests are held until \`cutover resume ${app}\` or ${clockTime(status.paused.until)}`);
    });
}

/** `cutover resume APP`: release the held requests in arrival order. */
export function resumeCommand(): Command {
  return new Command('resume')
    .description('release the requests held by `cutover pause`, in order')
    .argument('<app>', 'the app')
    .action(async (app: string, _opts: object, command: Command) => {
      const { client, out, who } = contextOf(command);
      await client.post<AppStatus>(`/api/apps/${encodeURIComponent(app)}/resume`, { who });
      out.line(`${app}: resumed`);
    });
}

function durationFlag(value: string): number {
  try {
    return parseDuration(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}
