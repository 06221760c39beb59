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

export type DriverConfig = { readonly kind: 'static' };

export interface AppConfig {
  readonly name: string;
  /** Host names matched against the request's Host header (lower case, no port). Empty: the default app. */
  readonly hosts: readonly string[];
  readonly driver: DriverConfig;
  readonly health: HealthConfig;
  readonly switch: 'auto' | 'manual';
  readonly drainMs: number;
}

export interface TimeoutsConfig {
  readonly upstreamConnectMs: number;
  /** Time allowed for the upstream's response head, and between body chunks. */
  readonly upstreamResponseMs: number;
}

export interface AdminConfig {
  readonly listen: ListenAddress;
  readonly token: string | null;
}

export type StateConfig = { readonly sqlite: string };

export interface Config {
  readonly listen: ListenAddress;
  readonly admin: AdminConfig;
  readonly state: StateConfig;
  readonly timeouts: TimeoutsConfig;
  readonly apps: Readonly<Record<string, AppConfig>>;
  /** The file this config was read from, absolute; null for a config built in code. */
  readonly source: string | null;
}
