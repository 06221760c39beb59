import { Command } from 'commander';
import type { AppStatus } from '../admin/app-status.ts';
import { COLORS, otherColor } from '../core/types.ts';
import { contextOf } from './context.ts';
import { printApp } from './status.ts';

/** `cutover switch APP` and `cutover rollback APP`: one atomic flip of the app's route, refused unless healthy. */
export function flipCommand(verb: 'switch' | 'rollback'): Command {
  const description =
    verb === 'switch'
      ? 'flip all new traffic to the candidate environment (refused unless it is healthy)'
      : 'flip all new traffic back to the standby environment';
  return new Command(verb)
    .description(description)
    .argument('<app>', 'the app')
    .option('--force', 'flip even if the environment is not healthy')
    .option('--json', 'print the app status as JSON')
    .action(async (app: string, opts: { force?: boolean; json?: boolean }, command: Command) => {
      const { client, out, who } = contextOf(command);
      const path = `/api/apps/${encodeURIComponent(app)}`;
      // What is live now, and the version the flip is to make live, go with the call: a flip that another one
      // overtook is refused, not run from its result, and so is one to a version deployed meanwhile.
      const seen = await client.get<AppStatus>(path);
      const expected = flipVersion(seen);
      const status = await client.post<AppStatus>(`${path}/${verb}`, { force: Boolean(opts.force), who, from: seen.live, ...(expected === null ? {} : { version: expected }) });
      if (opts.json) return out.line(JSON.stringify(status, null, 2));
      const version = status.live === null ? '' : ` (${status.envs[status.live].version})`;
      out.line(`${app}: ${status.live} is live${version}`);
      printApp(out, status);
    });
}

/**
 * The version a flip of `status` would make live: the environment that is not live (the ready one when nothing is);
 * null when there is none. Whether that environment may be flipped to is the server's to say.
 */
function flipVersion(status: AppStatus): string | null {
  const color = status.live === null ? COLORS.find((c) => status.envs[c].state === 'ready') : otherColor(status.live);
  return color === undefined ? null : status.envs[color].version;
}
