import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfigText } from '../config/load.ts';
import type { CutoverEvent } from '../core/events.ts';
import { silentLogger } from '../core/logger.ts';
import type { DeploymentRecord } from '../core/types.ts';
import { Cutover } from '../main.ts';
import { LoadGenerator } from './load-generator.ts';

export interface DemoOptions {
  readonly once: boolean;
  readonly print: (line: string) => void;
  /** Ports for the proxy and the admin API; 0 picks free ones. */
  readonly port: number;
  readonly adminPort: number;
}

export interface DemoOutcome {
  readonly failed: number;
  readonly ok: boolean;
}

const EXAMPLES = new URL('../../examples/', import.meta.url).pathname;

/**
 * `cutover demo`: a blue-green deploy under load, on this machine, with nothing to set up. cutover runs the example
 * app from `examples/releases/<version>` with the process driver, deploys v1, puts load on it, deploys v2 (watch the
 * switch: not one failed request), then v3, whose errors after the switch make the analysis roll it back.
 */
export async function runDemo(options: DemoOptions): Promise<DemoOutcome> {
  const state = mkdtempSync(join(tmpdir(), 'cutover-demo-'));
  const cutover = await Cutover.start({ config: demoConfig(state, options), log: silentLogger });
  await cutover.settling;
  const print = options.print;
  const unsubscribe = cutover.events.subscribe((e) => narrate(e, print));
  const load = new LoadGenerator(cutover.proxyUrl);
  try {
    print(`cutover demo: proxy on ${cutover.proxyUrl}, admin API on ${cutover.adminUrl}`);
    await deploy(cutover, 'v1', print);
    load.start();
    print('load: 8 clients sending requests to the proxy');
    await new Promise((r) => setTimeout(r, 2_000));
    report(load, print);
    await deploy(cutover, 'v2', print);
    report(load, print);
    await deploy(cutover, 'v3', print);
    report(load, print);
    const record = cutover.controller.app('demo').state;
    const liveVersion = record.live === null ? null : record.envs[record.live].version;
    const outcome = { failed: load.counts.failed, ok: load.counts.failed === 0 && liveVersion === 'v2' };
    print(outcome.ok ? 'demo: every switch and the rollback lost no request' : `demo: ${load.counts.failed} request(s) failed`);
    if (!options.once) await untilInterrupted(print, cutover);
    return outcome;
  } finally {
    unsubscribe();
    await load.stop();
    await cutover.stop();
    rmSync(state, { recursive: true, force: true });
  }
}

function demoConfig(state: string, options: DemoOptions) {
  const text = `
listen: 127.0.0.1:${options.port}
admin: { listen: 127.0.0.1:${options.adminPort} }
state: { sqlite: ${join(state, 'cutover.db')} }
apps:
  demo:
    driver:
      process: { command: "node ../../app/server.mjs", cwd: "./releases/{{version}}", instances: 2, stopGrace: 2s }
    health: { path: /healthz, interval: 200ms, timeout: 1s, healthy: 2, unhealthy: 2, deadline: 15s }
    verify:
      - { path: /version, json: { version: "{{version}}" } }
    analysis: { bake: 6s, maxErrorRate: 0.05, minRequests: 50, compareToBaseline: true }
    standby: 1m
    drain: 2s
`;
  return parseConfigText(text, { source: join(EXAMPLES, 'demo.yaml'), env: {} });
}

async function deploy(cutover: Cutover, version: string, print: (line: string) => void): Promise<DeploymentRecord> {
  print('');
  print(`deploying ${version}`);
  const app = cutover.controller.app('demo');
  const { done } = await app.deploy({ version, targets: [], noSwitch: false, who: 'demo' });
  let d = await done;
  while (d.phase === 'watching') {
    await new Promise((r) => setTimeout(r, 200));
    d = app.current?.deployment ?? d;
  }
  // The phase is stored before its last steps run (the onRollback hook, stopping the rejected version): wait for them.
  for (let i = 0; i < 100 && app.busyWith !== null; i++) await new Promise((r) => setTimeout(r, 50));
  return d;
}

function narrate(e: CutoverEvent, print: (line: string) => void): void {
  const time = new Date(e.at).toISOString().slice(11, 19);
  if (e.type === 'deployment') print(`  ${time}  ${String(e.phase).padEnd(11)} ${e.message ?? ''}`);
  else if (e.type === 'switch' || e.type === 'rollback') print(`  ${time}  ${e.type}: ${e.to} (${e.version}) takes all new traffic`);
}

function report(load: LoadGenerator, print: (line: string) => void): void {
  const { byVersion, appErrors, failed, total } = load.counts;
  const versions = Object.entries(byVersion).map(([v, n]) => `${v} ${n}`).join(', ');
  print(`load so far: ${total} requests (${versions}); 5xx from the app itself: ${appErrors}; failed by cutover: ${failed}`);
}

async function untilInterrupted(print: (line: string) => void, cutover: Cutover): Promise<void> {
  print('');
  const admin = cutover.adminUrl === 'http://127.0.0.1:9900' ? '' : ` --admin ${cutover.adminUrl}`;
  print(`still serving: open ${cutover.proxyUrl} in a browser, or try \`cutover${admin} status\`, \`cutover${admin} history demo\` or \`cutover${admin} deploy demo --version v1\`. Ctrl-C ends the demo.`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
}
