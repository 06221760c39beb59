import { Command } from 'commander';
import type { AppStatus } from '../admin/app-status.ts';
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
      // What is live now goes with the call: a flip that another one overtook is refused, not run from its result.
      const { live: from } = await client.get<AppStatus>(path);
      const status = await client.post<AppStatus>(`${path}/${verb}`, { force: Boolean(opts.force), who, from });
      if (opts.json) return out.line(JSON.stringify(status, null, 2));
      const version = status.live === null ? '' : ` (${status.envs[status.live].version})`;
      out.line(`${app}: ${status.live} is live${version}`);
      printApp(out, status);
    });
}
