import { Command } from 'commander';
import type { AppStatus, EnvStatus } from '../admin/app-status.ts';
import type { InstanceStatus } from '../admin/control-gate.ts';
import { contextOf } from './context.ts';
import { printInstances } from './instances.ts';
import { clockTime, dateTime, paint, table, type Output } from './output.ts';

/** `cutover status [APP] [--json]`: apps, the live environment, versions, targets and their health. */
export function statusCommand(): Command {
  return new Command('status')
    .description('apps, live environment, versions, targets and their health')
    .argument('[app]', 'one app (default: all)')
    .option('--json', 'print JSON')
    .action(async (app: string | undefined, opts: { json?: boolean }, command: Command) => {
      const { client, out } = contextOf(command);
      const apps = app ? [await client.get<AppStatus>(`/api/apps/${encodeURIComponent(app)}`)] : await client.get<AppStatus[]>('/api/apps');
      if (opts.json) return out.line(JSON.stringify(app ? apps[0] : apps, null, 2));
      if (apps.length === 0) return out.line('no apps configured');
      apps.forEach((a, i) => {
        if (i > 0) out.line();
        printApp(out, a);
      });
      printInstances(out, await client.get<InstanceStatus[]>('/api/instances'));
    });
}

export function printApp(out: Output, app: AppStatus): void {
  const hosts = app.hosts.length ? app.hosts.join(', ') : 'default app (any host)';
  const live = app.live === null ? paint(out, 'yellow', 'nothing live') : `live: ${paint(out, colourOf(app.live), app.live)}`;
  const busy = app.busy ? `  busy: ${app.busy}` : '';
  const leader = app.leader === undefined ? '' : `  run by: ${app.leader?.id ?? paint(out, 'yellow', 'no instance (election under way)')}`;
  out.line(`${paint(out, 'bold', app.name)}  ${hosts}  ${live}  switch: ${app.switchMode}  driver: ${app.driver}${busy}${leader}`);
  if (app.paused) out.line(paint(out, 'yellow', `  paused until ${clockTime(app.paused.until)}, ${app.paused.held} request(s) held`));
  if (app.deployment) out.line(`  deployment ${app.deployment.id}: ${app.deployment.version} ${app.deployment.phase}`);
  for (const alert of app.alerts) out.line(paint(out, 'red', `  ! ${alert}`));
  const rows: string[][] = [['  ENV', 'ROLE', 'STATE', 'VERSION', 'SINCE', 'TARGETS']];
  for (const env of [app.envs.blue, app.envs.green]) rows.push(envRow(out, env));
  table(rows).forEach((l) => out.line(l));
  for (const env of [app.envs.blue, app.envs.green]) {
    for (const t of env.targets) {
      const health = t.healthy ? paint(out, 'green', 'healthy') : paint(out, 'red', 'unhealthy');
      const why = !t.healthy && t.lastError ? `  ${paint(out, 'dim', t.lastError)}` : '';
      const instance = env.instances.find((i) => i.url === t.url);
      const process = instance?.pid ? `  pid ${instance.pid} ${instance.state}${instance.restarts ? `, ${instance.restarts} restarts` : ''}` : '';
      out.line(`    ${env.color.padEnd(5)} ${t.url}  ${health}  in flight ${t.inflight}  requests ${t.requests}${process}${why}`);
    }
  }
}

function envRow(out: Output, env: EnvStatus): string[] {
  const healthy = env.targets.filter((t) => t.healthy).length;
  const targets = env.targets.length === 0 ? '-' : `${healthy}/${env.targets.length} healthy`;
  const role = env.role === 'live' ? paint(out, colourOf(env.color), 'live') : env.role;
  return [`  ${env.color}`, role, env.state, env.version ?? '-', dateTime(env.since), targets];
}

function colourOf(color: 'blue' | 'green'): 'blue' | 'green' {
  return color;
}
