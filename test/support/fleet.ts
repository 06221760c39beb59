// Several `cutover serve` processes sharing one etcd, for the scale-out tests: one config file (every port 0), one
// child process per instance, and helpers to find the instance that runs the app and to read what each routes to.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { request } from 'undici';
import { callApi, eventually, spawnServe, tempDir, type ServeProcess } from './cutover-harness.ts';

export interface FleetOptions {
  readonly endpoints: readonly string[];
  readonly size?: number;
  /** Extra YAML lines for the app (indent 4). */
  readonly app?: string;
  readonly lease?: string;
  /** Data-path processes per instance; default 1. */
  readonly workers?: number;
}

export interface InstanceView {
  id: string;
  adminUrl: string;
  proxyUrl: string;
  leads: string[];
  appliedAt: number;
  apps: Record<string, { generation: number; revision: number }>;
}

export function fleetConfig(options: FleetOptions): string {
  // One data-path process per instance unless asked: three instances (and etcd, and the load) share two cores here.
  return `listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
workers: ${options.workers ?? 1}
state: { etcd: { endpoints: [${options.endpoints.join(', ')}], prefix: /fleet, timeout: 1s, lease: ${options.lease ?? '2s'} } }
apps:
  web:
    health: { path: /healthz, interval: 50ms, timeout: 1s, healthy: 1, unhealthy: 2, deadline: 5s }
    drain: 2s
${options.app ?? ''}
`;
}

/** Starts the instances together and waits until each lists all of them and knows who runs `web`. */
export async function startFleet(t: TestContext, options: FleetOptions): Promise<ServeProcess[]> {
  const path = join(tempDir(t), 'cutover.yaml');
  writeFileSync(path, fleetConfig(options));
  const size = options.size ?? 3;
  const fleet = await Promise.all(Array.from({ length: size }, () => spawnServe(t, path)));
  await eventually(async () => {
    const views = await Promise.all(fleet.map((i) => instances(i)));
    return views.every((v) => v.length === size && v.some((i) => i.leads.includes('web')));
  }, 15_000, `${size} instances listed with a leader`);
  return fleet;
}

export async function instances(instance: { adminUrl: string }): Promise<InstanceView[]> {
  return (await callApi<InstanceView[]>(instance.adminUrl, 'GET', '/api/instances')).body;
}

/** The process whose admin URL the fleet names as running `web`. */
export async function leaderOf(fleet: readonly ServeProcess[], asked: ServeProcess = fleet[0]!): Promise<ServeProcess | undefined> {
  const status = await callApi<{ leader: { adminUrl: string } | null }>(asked.adminUrl, 'GET', '/api/apps/web');
  return fleet.find((i) => i.adminUrl === status.body.leader?.adminUrl);
}

/** The body of one request through `proxyUrl` (the version that answered), or the error. */
export async function routedTo(proxyUrl: string): Promise<string> {
  try {
    const res = await request(proxyUrl, { headersTimeout: 2_000, bodyTimeout: 2_000 });
    return await res.body.text();
  } catch (err) {
    return `error: ${(err as Error).message}`;
  }
}

/** What `count` requests through `proxyUrl`, each on a new connection (so each may reach another data-path worker), answered. */
export async function routedOnNewConnections(proxyUrl: string, count: number): Promise<string[]> {
  const answers: string[] = [];
  for (let i = 0; i < count; i++) {
    try {
      const res = await request(proxyUrl, { reset: true, headersTimeout: 2_000, bodyTimeout: 2_000 });
      answers.push(await res.body.text());
    } catch (err) {
      answers.push(`error: ${(err as Error).message}`);
    }
  }
  return answers;
}

/** Polls every proxy until all answer `version`; resolves with the ms it took from `since`. */
export async function untilAllRouteTo(proxies: readonly string[], version: string, since: number, ms = 5_000): Promise<number> {
  await Promise.all(proxies.map(async (url) => {
    while ((await routedTo(url)) !== version) {
      if (performance.now() - since > ms) throw new Error(`${url} did not route to ${version} within ${ms} ms`);
      // A breath between polls: three tight loops would take the two cores from the instances they measure.
      await new Promise((r) => setTimeout(r, 1));
    }
  }));
  return performance.now() - since;
}

export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
