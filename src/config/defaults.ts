// Every default the config loader applies, in one place, so the docs, the example file and the code agree.
// Durations are in milliseconds, like the validated Config they fill in.

import type { LimitsConfig,
  AnalysisConfig, DriverConfig, HealthConfig, ListenAddress, TimeoutsConfig, VerifyConfig, WebhooksConfig,
} from './config.ts';

export const DEFAULT_LISTEN: ListenAddress = Object.freeze({ host: '127.0.0.1', port: 8080 });

/** Loopback by default: the admin API can switch and roll back deployments, so it is not exposed unless asked. */
export const DEFAULT_ADMIN_LISTEN: ListenAddress = Object.freeze({ host: '127.0.0.1', port: 9900 });

/** The shortest admin token accepted; shorter secrets are guessable by brute force over the network. */
export const MIN_ADMIN_TOKEN_LENGTH = 16;

/** Resolved against the config file's directory, so the database does not depend on the working directory. */
export const DEFAULT_STATE_SQLITE = './cutover.db';

/** Where cutover's keys live in etcd: `/cutover/apps/web`, `/cutover/deployments/…`. */
export const DEFAULT_ETCD_PREFIX = '/cutover';

/**
 * How long one etcd store call may take. A healthy cluster answers in milliseconds; a lost one should fail a
 * control call soon enough that the caller gets STORE_UNAVAILABLE rather than a hung request.
 */
export const DEFAULT_ETCD_TIMEOUT_MS = 2_000;

/**
 * The lease each instance holds in etcd (its entry in the instance list and its app elections hang on it): an
 * instance that dies unannounced leads its apps this long at most before another takes over.
 */
export const DEFAULT_ETCD_LEASE_MS = 5_000;

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
  requestHeadMs: 10_000,
  keepAliveMs: 60_000,
});

export const DEFAULT_LIMITS: LimitsConfig = Object.freeze({
  maxHeaderBytes: 16 * 1024,
  maxConnections: 10_000,
});

/** Per app; large enough for ordinary uploads, small enough that one client cannot stream without end. */
export const DEFAULT_MAX_BODY_BYTES = 100 * 1024 * 1024;

export const DEFAULT_PROCESS_INSTANCES = 1;

/** Far above what one machine runs of one app; a typo like 200 should not fork 200 processes. */
export const MAX_PROCESS_INSTANCES = 64;

/** Between SIGTERM and SIGKILL when the process driver stops an instance. */
export const DEFAULT_STOP_GRACE_MS = 10_000;

export const DEFAULT_CHECK_METHOD = 'GET';

export const DEFAULT_CHECK_TIMEOUT_MS = 5_000;

/** A user's smoke suite (`verify.command`) may drive a browser; five minutes bounds a hung one. */
export const DEFAULT_VERIFY_COMMAND_TIMEOUT_MS = 300_000;

export const DEFAULT_VERIFY: VerifyConfig = Object.freeze({
  checks: Object.freeze([]),
  command: null,
  commandTimeoutMs: DEFAULT_VERIFY_COMMAND_TIMEOUT_MS,
});

export const DEFAULT_PREVIEW_HEADER = 'x-cutover-preview';

/** Like the admin token: the preview secret opens the candidate to whoever holds it. There is no default secret. */
export const MIN_PREVIEW_SECRET_LENGTH = 16;

/** Without an `analysis` section nothing is watched after a switch. */
export const DEFAULT_ANALYSIS: AnalysisConfig = Object.freeze({
  bakeMs: 0,
  maxErrorRate: null,
  maxP99Ms: null,
  minRequests: 100,
  compareToBaseline: true,
});

/** The bake when `analysis` is given without one: long enough for a few hundred requests on a modest site. */
export const DEFAULT_ANALYSIS_BAKE_MS = 120_000;

export const DEFAULT_STANDBY_MS = 900_000;

/** WebSockets and streams left on the old environment after the drain are closed spread over this much time. */
export const DEFAULT_DRAIN_JITTER_MS = 5_000;

export const DEFAULT_HOOK_TIMEOUT_MS = 60_000;

export const DEFAULT_WEBHOOKS: WebhooksConfig = Object.freeze({
  urls: Object.freeze([]),
  timeoutMs: 5_000,
  retries: 3,
});

/** With backoff doubling from 0.5 s, ten retries already span over eight minutes. */
export const MAX_WEBHOOK_RETRIES = 10;

/**
 * Connections to one target at most. Requests beyond wait in the pool's first-come queue; long-lived ones
 * (streams, long polls) each hold a connection, so an app with many of them needs more.
 */
export const DEFAULT_UPSTREAM_CONNECTIONS = 128;
