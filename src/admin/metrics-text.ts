import { COLORS } from '../core/types.ts';
import type { Controller } from '../deploy/controller.ts';
import type { TargetStatusSource } from './app-status.ts';

/**
 * A first `/metrics` in the Prometheus text format: which environment is live and each target's health,
 * in-flight and request counts. Labels are bounded (app, env, target URL from the config or a deploy).
 */
export function metricsText(controller: Controller, targets: TargetStatusSource): string {
  const lines: string[] = [
    '# HELP cutover_app_live 1 for the environment that takes the app\'s traffic.',
    '# TYPE cutover_app_live gauge',
  ];
  const perTarget: string[][] = [[], [], []];
  for (const app of controller.list()) {
    const record = app.state;
    for (const color of COLORS) {
      lines.push(`cutover_app_live{app="${record.name}",env="${color}"} ${record.live === color ? 1 : 0}`);
      for (const t of targets.statuses(record.name, color, record.envs[color].targets)) {
        const labels = `app="${record.name}",env="${color}",target="${t.url}"`;
        perTarget[0]!.push(`cutover_target_healthy{${labels}} ${t.healthy ? 1 : 0}`);
        perTarget[1]!.push(`cutover_target_inflight{${labels}} ${t.inflight}`);
        perTarget[2]!.push(`cutover_target_requests_total{${labels}} ${t.requests}`);
      }
    }
  }
  lines.push('# HELP cutover_target_healthy 1 while the target passes its health checks.', '# TYPE cutover_target_healthy gauge');
  lines.push(...perTarget[0]!);
  lines.push('# HELP cutover_target_inflight Requests in flight to the target.', '# TYPE cutover_target_inflight gauge');
  lines.push(...perTarget[1]!);
  lines.push('# HELP cutover_target_requests_total Requests sent to the target.', '# TYPE cutover_target_requests_total counter');
  lines.push(...perTarget[2]!);
  return lines.join('\n') + '\n';
}
