// A real ProxyServer on a free port with its TargetRegistry, fed route tables written by hand.
import type { TestContext } from 'node:test';
import type { HealthConfig } from '../../src/config/config.ts';
import { silentLogger, type Logger } from '../../src/core/logger.ts';
import type { Color } from '../../src/core/types.ts';
import { TargetRegistry } from '../../src/pool/target-registry.ts';
import type { Target } from '../../src/pool/target.ts';
import { DataPath } from '../../src/proxy/data-path.ts';
import { ProxyServer, type ClientLimits } from '../../src/proxy/proxy-server.ts';
import type { RouteTable } from '../../src/proxy/route-table.ts';
import type { TrafficStats } from '../../src/proxy/traffic.ts';

export const FAST_HEALTH: HealthConfig = {
  path: '/healthz',
  intervalMs: 50,
  timeoutMs: 500,
  healthy: 1,
  unhealthy: 2,
  deadlineMs: 5_000,
};

export interface RouteOptions {
  readonly drainMs?: number;
  readonly drainJitterMs?: number;
  readonly maxBodyBytes?: number;
  readonly preview?: { header: string; secret: string } | null;
  readonly pausedUntil?: number | null;
}

export interface ProxyHarness {
  readonly dataPath: DataPath;
  readonly proxy: ProxyServer;
  readonly registry: TargetRegistry;
  readonly url: string;
  generation: number;
  route(live: Color | null, blue: string[], green: string[], options?: RouteOptions): void;
  target(color: Color, url: string): Target;
}

export async function startProxy(
  t: TestContext,
  settings: { responseTimeoutMs?: number; health?: HealthConfig; stats?: TrafficStats; client?: ClientLimits; connections?: number; log?: Logger } = {},
): Promise<ProxyHarness> {
  const registry = new TargetRegistry({
    listener: { onTargetHealth: () => {} },
    clock: Date.now,
    settings: () => ({
      health: settings.health ?? FAST_HEALTH,
      connectTimeoutMs: 1_000,
      responseTimeoutMs: settings.responseTimeoutMs ?? 10_000,
      connections: settings.connections ?? 128,
    }),
  });
  const dataPath = new DataPath({ registry, stats: settings.stats ?? null });
  const proxy = new ProxyServer({ listen: { host: '127.0.0.1', port: 0 }, dataPath, log: settings.log ?? silentLogger, mode: { kind: 'public' }, client: settings.client });
  const address = await proxy.listen();
  t.after(async () => {
    await proxy.close(100);
    await registry.close(100);
  });
  const harness: ProxyHarness = {
    dataPath,
    proxy,
    registry,
    url: `http://127.0.0.1:${address.port}`,
    generation: 0,
    route(live, blue, green, options = {}) {
      dataPath.apply(table(++harness.generation, live, blue, green, options));
    },
    target(color, url) {
      const found = registry.get('web', color, url);
      if (!found) throw new Error(`no target ${color} ${url}`);
      return found;
    },
  };
  return harness;
}

function table(generation: number, live: Color | null, blue: string[], green: string[], options: RouteOptions): RouteTable {
  return {
    generation,
    apps: [
      {
        name: 'web',
        hosts: [],
        live,
        drainMs: options.drainMs ?? 5_000,
        drainJitterMs: options.drainJitterMs ?? 0,
        maxBodyBytes: options.maxBodyBytes ?? 0,
        preview: options.preview ?? null,
        pausedUntil: options.pausedUntil ?? null,
        envs: {
          blue: { color: 'blue', version: 'v1', state: live === 'blue' ? 'live' : 'ready', targets: blue },
          green: { color: 'green', version: 'v2', state: live === 'green' ? 'live' : 'ready', targets: green },
        },
      },
    ],
  };
}
