import type { AccessLogConfig } from './access-log-schema.ts';
import type { StateConfig } from './state-schema.ts';
import type { TlsConfig } from './tls-schema.ts';

// The validated, frozen configuration that the rest of cutover reads. Durations are in milliseconds.
// The YAML keys and their defaults are in defaults.ts and schema.ts; this is the shape after validation.

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

export interface HealthConfig {
  readonly path: string;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  /** Consecutive passes that make a target healthy. */
  readonly healthy: number;
  /** Consecutive failures that make a target unhealthy. */
  readonly unhealthy: number;
  /** How long a deployment waits for every candidate target to become healthy. */
  readonly deadlineMs: number;
}

export type DriverConfig = StaticDriverConfig | ProcessDriverConfig;

export interface StaticDriverConfig {
  readonly kind: 'static';
}

/**
 * `driver: { process: { command, cwd, instances, env, stopGrace } }`. `command`, `cwd` and the values of `env`
 * are templates: `{{version}}`, `{{env}}` (blue or green), `{{port}}` and `{{instance}}` are filled in per instance.
 */
export interface ProcessDriverConfig {
  readonly kind: 'process';
  readonly command: string;
  /** Template; relative paths resolve against `baseDir`. Null: `baseDir`. */
  readonly cwd: string | null;
  readonly instances: number;
  readonly env: Readonly<Record<string, string>>;
  /** Time between SIGTERM and SIGKILL when an instance is stopped. */
  readonly stopGraceMs: number;
  /** The config file's directory (or the working directory for a config built in code). */
  readonly baseDir: string;
}

/** One smoke check run against every candidate target and once through the preview route. */
export interface VerifyCheck {
  /** For messages: "GET /version" unless given. */
  readonly name: string;
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  /** Expected status; null accepts any 2xx. */
  readonly status: number | null;
  /** Template (`{{version}}`); the body must contain it. */
  readonly bodyContains: string | null;
  /** Dotted JSON paths in the response body and the values they must equal (strings are templates). */
  readonly json: Readonly<Record<string, unknown>> | null;
  readonly maxLatencyMs: number | null;
  readonly timeoutMs: number;
}

export interface VerifyConfig {
  readonly checks: readonly VerifyCheck[];
  /** A shell command (the user's smoke suite) run with CUTOVER_PREVIEW_URL; exit 0 passes. */
  readonly command: string | null;
  readonly commandTimeoutMs: number;
}

export interface PreviewConfig {
  /** Request header that, carrying `secret`, routes to the candidate. Lower case. */
  readonly header: string;
  readonly secret: string;
  /** Optional listener that always serves the candidate. */
  readonly listen: ListenAddress | null;
}

export interface AnalysisConfig {
  /** How long the new environment is watched after a switch; 0 turns analysis off. */
  readonly bakeMs: number;
  /** Largest tolerated share of 5xx answers (0.01 = 1%); null: not checked. */
  readonly maxErrorRate: number | null;
  readonly maxP99Ms: number | null;
  /** Verdicts on rates and percentiles wait for this many requests. */
  readonly minRequests: number;
  /** Also fail when clearly worse than the old environment was before the switch. */
  readonly compareToBaseline: boolean;
}

export type HookName = 'preDeploy' | 'preSwitch' | 'postSwitch' | 'onRollback' | 'onFailure';

export interface HooksConfig {
  readonly commands: Readonly<Partial<Record<HookName, string>>>;
  readonly timeoutMs: number;
  /** Where hook commands run: the config file's directory. */
  readonly cwd: string;
}

export interface WebhooksConfig {
  readonly urls: readonly string[];
  readonly timeoutMs: number;
  readonly retries: number;
}

export interface AppConfig {
  readonly name: string;
  /** Host names matched against the request's Host header (lower case, no port). Empty: the default app. */
  readonly hosts: readonly string[];
  readonly driver: DriverConfig;
  readonly health: HealthConfig;
  readonly switch: 'auto' | 'manual';
  readonly drainMs: number;
  /** After the drain, long-lived connections still open are closed spread over this window. */
  readonly drainJitterMs: number;
  /** A request body larger than this gets 413; 0 is no limit. */
  readonly maxBodyBytes: number;
  /** Connections to each target at most; requests beyond wait in a first-come queue. */
  readonly upstreamConnections: number;
  readonly verify: VerifyConfig;
  /** Null: no preview for this app. */
  readonly preview: PreviewConfig | null;
  readonly analysis: AnalysisConfig;
  /** How long the old environment stays warm after a switch before its driver retires it. */
  readonly standbyMs: number;
  readonly hooks: HooksConfig;
  readonly webhooks: WebhooksConfig;
}

export interface TimeoutsConfig {
  readonly upstreamConnectMs: number;
  /** Time allowed for the upstream's response head, and between body chunks. */
  readonly upstreamResponseMs: number;
  /** Time a client has to send a complete request head (a slowloris is closed after it). */
  readonly requestHeadMs: number;
  /** How long an idle keep-alive client connection is kept. */
  readonly keepAliveMs: number;
}

export interface LimitsConfig {
  /** A request head larger than this gets 431. */
  readonly maxHeaderBytes: number;
  /** Client connections held at once on the public listener; more are refused at accept. */
  readonly maxConnections: number;
}

/** `admin`: every call and the dashboard; `read`: only the GET calls (status, history, events, metrics, logs, audit). */
export type AdminRole = 'admin' | 'read';

/** One bearer token of the admin API. */
export interface AdminToken {
  /** Who the history and the audit trail name for this token's calls, as `token:NAME`; never the secret. */
  readonly name: string;
  readonly token: string;
  readonly role: AdminRole;
}

export interface AdminConfig {
  readonly listen: ListenAddress;
  /** `admin.token` as given, or null; it is also in `tokens`, named "admin". */
  readonly token: string | null;
  /**
   * Every token: `admin.token` (named admin), `admin.readToken` (named read), then `admin.tokens`. Empty: the API
   * listens on loopback only and every caller is "local", with the admin role.
   */
  readonly tokens: readonly AdminToken[];
}

export type { StateConfig };

export interface Config {
  readonly listen: ListenAddress;
  readonly admin: AdminConfig;
  readonly state: StateConfig;
  readonly timeouts: TimeoutsConfig;
  readonly limits: LimitsConfig;
  readonly apps: Readonly<Record<string, AppConfig>>;
  /** One JSON line per request: null is off; a null path is stdout. */
  readonly accessLog: AccessLogConfig | null;
  /** HTTPS (HTTP/2 and HTTP/1.1) on the public listener; null is plain HTTP. */
  readonly tls: TlsConfig | null;
  /** Data-path processes (node:cluster) on the same ports; 1 is the data path inside the one process. */
  readonly workers: number;
  /** The file this config was read from, absolute; null for a config built in code. */
  readonly source: string | null;
}
