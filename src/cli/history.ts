import { Command } from 'commander';
import type { DeploymentRecord } from '../core/types.ts';
import { contextOf } from './context.ts';
import { dateTime, paint, seconds, table, type Output } from './output.ts';
import { wholeNumber } from './whole-number.ts';

/** `cutover history APP [--json]`: past deployments with their outcome, newest first. */
export function historyCommand(): Command {
  return new Command('history')
    .description('past deployments with their outcome')
    .argument('<app>', 'the app')
    .option('-n, --limit <n>', 'how many', wholeNumber(1), 20)
    .option('--json', 'print JSON')
    .action(async (app: string, opts: { limit: number; json?: boolean }, command: Command) => {
      const { client, out } = contextOf(command);
      const list = await client.get<DeploymentRecord[]>(`/api/apps/${encodeURIComponent(app)}/deployments?limit=${opts.limit}`);
      if (opts.json) return out.line(JSON.stringify(list, null, 2));
      if (list.length === 0) return out.line(`${app}: no deployments yet`);
      const rows = [['STARTED', 'ID', 'VERSION', 'ENV', 'OUTCOME', 'TOOK', 'WHO', 'REASON']];
      for (const d of list) rows.push(row(out, d));
      table(rows).forEach((l) => out.line(l));
    });
}

function row(out: Output, d: DeploymentRecord): string[] {
  const took = d.finishedAt === null ? '-' : seconds(d.finishedAt - d.createdAt);
  return [dateTime(d.createdAt), d.id, d.version, d.color, outcome(out, d.phase), took, d.who, d.reason ?? ''];
}

function outcome(out: Output, phase: DeploymentRecord['phase']): string {
  if (phase === 'done') return paint(out, 'green', phase);
  if (phase === 'failed' || phase === 'rolled-back') return paint(out, 'red', phase);
  return paint(out, 'yellow', phase);
}
