import type { Controller } from './deploy/controller.ts';
import type { DriverListener, InstanceEvent } from './drivers/environment-driver.ts';
import type { EventHub } from './core/events.ts';
import type { Logger } from './core/logger.ts';
import type { TargetRegistry } from './pool/target-registry.ts';
import type { Target, TargetListener } from './pool/target.ts';

/** Logs and emits every target health change, and raises it loudly when a whole live environment is failing. */
export class HealthAlarm implements TargetListener, DriverListener {
  private controller: Controller | null = null;
  private registry: TargetRegistry | null = null;

  constructor(private readonly log: Logger, private readonly events: EventHub) {}

  watch(controller: Controller, registry: TargetRegistry): void {
    this.controller = controller;
    this.registry = registry;
  }

  onTargetHealth(target: Target, healthy: boolean, reason: string | null): void {
    const { app, color, url } = target;
    this.log[healthy ? 'info' : 'warn']({ app, env: color, target: url, reason }, healthy ? 'target healthy' : 'target unhealthy');
    this.events.emit({ type: 'target.health', app, env: color, target: url, healthy, reason });
    if (!healthy && this.liveAllDown(app, color)) {
      this.log.error({ app, env: color }, 'every live target is failing its health checks; still sending traffic to them');
      this.events.emit({ type: 'app.unhealthy', app, env: color, reason });
    }
  }

  onInstanceEvent(event: InstanceEvent): void {
    const level = event.kind === 'restarted' ? 'info' : 'warn';
    this.log[level]({ app: event.app, env: event.color, target: event.url, detail: event.detail }, `instance ${event.kind}`);
    this.events.emit({ type: `instance.${event.kind}`, app: event.app, env: event.color, target: event.url, detail: event.detail });
  }

  private liveAllDown(app: string, color: string): boolean {
    if (this.controller === null || this.registry === null) return false;
    const record = this.controller.list().find((a) => a.name === app)?.state;
    if (record === undefined || record.live !== color) return false;
    return record.envs[record.live].targets.every((url) => !this.registry!.isHealthy(app, record.live!, url));
  }
}

