import type { InstanceStatus } from '../admin/control-gate.ts';
import { paint, table, type Output } from './output.ts';

/**
 * The instances sharing etcd, as `cutover status` prints them: per app the route generation each applied (an
 * instance behind the others shows an older one), when it applied it, how long it has run, and which apps it runs.
 */
export function printInstances(out: Output, instances: readonly InstanceStatus[], now = Date.now()): void {
  if (instances.length === 0) return;
  out.line();
  out.line(paint(out, 'bold', `instances (${instances.length})`));
  const newest = new Map<string, number>();
  for (const i of instances) for (const [app, r] of Object.entries(i.apps)) newest.set(app, Math.max(newest.get(app) ?? 0, r.generation));
  const rows: string[][] = [['  INSTANCE', 'PID', 'ADMIN', 'PROXY', 'ROUTES', 'APPLIED', 'UP', 'RUNS']];
  for (const i of instances) {
    const routes = Object.entries(i.apps).map(([app, r]) => {
      const text = `${app} gen ${r.generation}`;
      return r.generation < (newest.get(app) ?? 0) ? paint(out, 'yellow', text) : text;
    });
    const name = `  ${i.id}${i.self ? ' (this)' : ''}`;
    rows.push([name, String(i.pid), i.adminUrl, i.proxyUrl, routes.join(', ') || '-', `${age(now - i.appliedAt)} ago`, age(now - i.startedAt), i.leads.join(', ') || '-']);
  }
  table(rows).forEach((l) => out.line(l));
}

function age(ms: number): string {
  const s = Math.max(0, ms) / 1000;
  if (s < 10) return `${s.toFixed(1)}s`;
  if (s < 120) return `${Math.round(s)}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  return `${Math.round(s / 3600)}h`;
}
