// What the primary and its data-path workers say to each other over the node:cluster IPC channel. Plain data only:
// the channel serializes every message as JSON.

import type { AddressInfo } from 'node:net';
import type { Config } from '../config/config.ts';
import type { Color } from '../core/types.ts';
import type { RouteTable } from '../proxy/route-table.ts';
import type { EnvDelta } from '../stats/env-stats.ts';
import type { UpstreamErrorKind } from '../stats/upstream-errors.ts';

/** One target's health as the primary judged it. */
export interface HealthVerdict {
  readonly app: string;
  readonly color: Color;
  readonly url: string;
  readonly healthy: boolean;
  readonly reason: string | null;
}

export type ToWorker =
  /** The first message, and again after each config reload. */
  | { readonly kind: 'config'; readonly config: Config }
  /** A new route table, with every target's current health so a new worker starts from the same verdicts. */
  | { readonly kind: 'routes'; readonly table: RouteTable; readonly health: readonly HealthVerdict[] }
  | { readonly kind: 'health'; readonly verdicts: readonly HealthVerdict[] }
  /** Stop accepting, let requests in flight finish for up to `drainMs`, then exit. */
  | { readonly kind: 'stop'; readonly drainMs: number };

/** One target's load in one worker: gauges as they are now, `requests` since the last report. */
export interface TargetLoad {
  readonly app: string;
  readonly color: Color;
  readonly url: string;
  readonly inflight: number;
  readonly websockets: number;
  readonly draining: number;
  readonly requests: number;
}

/** What a worker recorded since its last report, and its gauges now. */
export interface WorkerReport {
  readonly kind: 'report';
  readonly traffic: readonly { readonly app: string; readonly color: Color; readonly delta: EnvDelta }[];
  readonly upstreamErrors: readonly { readonly app: string; readonly color: Color; readonly kind: UpstreamErrorKind; readonly count: number }[];
  readonly targets: readonly TargetLoad[];
  /** Requests held by paused apps, by app. */
  readonly held: readonly (readonly [string, number])[];
}

export type FromWorker =
  /** The worker listens for messages: anything sent before this would be lost. */
  | { readonly kind: 'ready' }
  | { readonly kind: 'listening'; readonly addresses: readonly (readonly [string, AddressInfo])[] }
  | { readonly kind: 'applied'; readonly generation: number }
  /** A connection error in live traffic: the primary counts it against the target's health. */
  | { readonly kind: 'failure'; readonly app: string; readonly color: Color; readonly url: string; readonly error: string }
  /** The worker could not start (a certificate it cannot read, a port it cannot bind): it exits after this. */
  | { readonly kind: 'failed'; readonly code: string; readonly message: string }
  | WorkerReport;
