// Every default the config loader applies, in one place, so the docs, the example file and the code agree.
// Durations are in milliseconds, like the validated Config they fill in.

import type { DriverConfig, HealthConfig, ListenAddress, TimeoutsConfig } from './config.ts';

export const DEFAULT_LISTEN: ListenAddress = Object.freeze({ host: '127.0.0.1', port: 8080 });

/** Loopback by default: the admin API can switch and roll back deployments, so it is not exposed unless asked. */
export const DEFAULT_ADMIN_LISTEN: ListenAddress = Object.freeze({ host: '127.0.0.1', port: 9900 });

/** The shortest admin token accepted; shorter secrets are guessable by brute force over the network. */
export const MIN_ADMIN_TOKEN_LENGTH = 16;

/** Resolved against the config file's directory, so the database does not depend on the working directory. */
export const DEFAULT_STATE_SQLITE = './cutover.db';

export const DEFAULT_HEALTH: HealthConfig = Object.freeze({
  path: '/healthz',
  intervalMs: 1_000,
  timeoutMs: 2_000,
  healthy: 2,
  unhealthy: 3,
  deadlineMs: 30_000,
});

export const DEFAULT_DRIVER: DriverConfig = Object.freeze({ kind: 'static' });

export const DEFAULT_SWITCH = 'auto' as const;

export const DEFAULT_DRAIN_MS = 30_000;

export const DEFAULT_TIMEOUTS: TimeoutsConfig = Object.freeze({
  upstreamConnectMs: 5_000,
  upstreamResponseMs: 60_000,
});
