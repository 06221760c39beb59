import { Command } from 'commander';
import { describeReload, type ReloadOutcome } from '../config/reload-outcome.ts';
import { contextOf } from './context.ts';

/** `cutover reload`: the running cutover re-reads its config file, as on SIGHUP, and says what that changed. */
export function reloadCommand(): Command {
  return new Command('reload')
    .description('have the running cutover re-read its config file (as SIGHUP does), and say what changed')
    .action(async (_opts: object, command: Command) => {
      const { client, out, who } = contextOf(command);
      const outcome = await client.post<ReloadOutcome>('/api/reload', { who });
      out.line(`reloaded: ${describeReload(outcome)}`);
    });
}
