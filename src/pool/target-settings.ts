import type { Config } from '../config/config.ts';

/** What a target of `app` is built with: its health checks and upstream timeouts, from the config. */
export function targetSettings(config: Config, app: string) {
  const a = config.apps[app];
  return {
    health: a!.health,
    connectTimeoutMs: config.timeouts.upstreamConnectMs,
    responseTimeoutMs: config.timeouts.upstreamResponseMs,
    connections: a!.upstreamConnections,
  };
}
