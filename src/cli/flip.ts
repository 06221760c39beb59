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
      const status = await client.post<AppStatus>(`/api/apps/${encodeURIComponent(app)}/${verb}`, { force: Boolean(opts.force), who });
      if (opts.json) return out.line(JSON.stringify(status, null, 2));
      const version = status.live === null ? '' : ` (${status.envs[status.live].version})`;
      out.line(`${app}: ${status.live} is live${version}`);
      printApp(out, status);
    });
}
