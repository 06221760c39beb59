import type { Config } from '../config/config.ts';

import type { TargetSettings } from './target-registry.ts';

/**
 * What a target of `app` is built with: its health checks and upstream timeouts, from the config. Null when the
 * config has no such app: a data-path worker gets a reloaded config before the route table that drops the app.
 */
export function targetSettings(config: Config, app: string): TargetSettings | null {
  const a = config.apps[app];
  if (a === undefined) return null;
  return {
    health: a.health,
    connectTimeoutMs: config.timeouts.upstreamConnectMs,
    responseTimeoutMs: config.timeouts.upstreamResponseMs,
    connections: a.upstreamConnections,
  };
}
