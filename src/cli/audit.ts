import { Command } from 'commander';
import type { AuditRecord } from '../store/audit-record.ts';
import { contextOf } from './context.ts';
import { dateTime, paint, table } from './output.ts';
import { wholeNumber } from './whole-number.ts';

/** `cutover audit [APP] [-n 50] [--json]`: every control action with who, what and when, newest first. */
export function auditCommand(): Command {
  return new Command('audit')
    .description('control actions (deploy, switch, rollback, pause, resume, reload): who, what, when, outcome')
    .argument('[app]', 'one app (default: all)')
    .option('-n, --limit <n>', 'how many', wholeNumber(1), 50)
    .option('--json', 'print JSON')
    .action(async (app: string | undefined, opts: { limit: number; json?: boolean }, command: Command) => {
      const { client, out } = contextOf(command);
      const query = new URLSearchParams({ limit: String(opts.limit) });
      if (app) query.set('app', app);
      const list = await client.get<AuditRecord[]>(`/api/audit?${query}`);
      if (opts.json) return out.line(JSON.stringify(list, null, 2));
      if (list.length === 0) return out.line('no control actions recorded yet');
      const rows = [['WHEN', 'WHO', 'ACTION', 'APP', 'OUTCOME', 'DETAIL']];
      for (const a of list) {
        const outcome = a.outcome === 'ok' ? paint(out, 'green', 'ok') : paint(out, 'red', a.outcome);
        // A refused reload's detail lists one problem per line: one row each, so the table holds.
        rows.push([dateTime(a.at), a.who, a.action, a.app ?? '-', outcome, a.detail.replace(/\s*\n\s*/g, '; ')]);
      }
      table(rows).forEach((l) => out.line(l));
    });
}
