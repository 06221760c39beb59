// A real cutover for tests: in this process (Cutover.start) or as a `cutover serve` child process, on free ports,
// with its SQLite file in a temp dir that is removed afterwards.
import { killProcessesUnder } from './processes.ts';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { TestContext } from 'node:test';
import { request } from 'undici';
import { loadConfig } from '../../src/config/load.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { Cutover } from '../../src/main.ts';

export const ROOT = new URL('../..', import.meta.url).pathname;
export const BIN = join(ROOT, 'bin/cutover.js');

/** A config with free ports, a temp state file and the given `apps:` block (YAML, indented by two). */
export function configText(dir: string, apps: string, extra = ''): string {
  const admin = /^admin:/m.test(extra) ? '' : 'admin: { listen: 127.0.0.1:0 }';
  // One process unless a test asks for data-path workers: most tests look inside the one data path.
  const workers = /^workers:/m.test(extra) ? '' : 'workers: 1';
  return `listen: 127.0.0.1:0
${admin}
${workers}
state: { sqlite: ${join(dir, 'cutover.db')} }
${extra}
apps:
${apps}
`;
}

export const WEB_APP = `  web:
    health: { path: /healthz, interval: 50ms, timeout: 1s, healthy: 2, unhealthy: 2, deadline: 3s }
    drain: 5s`;

export function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'cutover-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface Running {
  readonly cutover: Cutover;
  readonly proxyUrl: string;
  readonly adminUrl: string;
  readonly configPath: string;
  api<T = unknown>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; body: T }>;
}

export async function startCutover(t: TestContext, apps = WEB_APP, extra = ''): Promise<Running> {
  const dir = tempDir(t);
  const configPath = join(dir, 'cutover.yaml');
  writeFileSync(configPath, configText(dir, apps, extra));
  const cutover = await Cutover.start({ config: await loadConfig(configPath), log: silentLogger });
  t.after(() => cutover.stop());
  const adminUrl = cutover.adminUrl;
  return { cutover, proxyUrl: cutover.proxyUrl, adminUrl, configPath, api: (m, p, b) => callApi(adminUrl, m, p, b) };
}

export async function callApi<T>(adminUrl: string, method: 'GET' | 'POST', path: string, body?: unknown, token?: string) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await request(adminUrl + path, { method, headers, body: body === undefined ? null : JSON.stringify(body) });
  const text = await res.body.text();
  return { status: res.statusCode, body: (text ? JSON.parse(text) : null) as T };
}

export interface DeploymentView {
  id: string;
  phase: string;
  reason: string | null;
  metrics: Record<string, number> | null;
  hooks: { name: string; ok: boolean; exitCode: number | null; output: string }[];
  phases: { phase: string; message?: string }[];
}

/** Deploys through the admin API and waits until the deployment reaches `until` or ends. */
export async function deploy(run: { adminUrl: string }, version: string, targets: string[], until = 'done', body: object = {}) {
  const started = await callApi<{ deployment: { id: string } }>(run.adminUrl, 'POST', '/api/apps/web/deployments', { version, targets, ...body });
  if (started.status !== 202) throw new Error(`deploy refused: ${JSON.stringify(started.body)}`);
  return waitForDeployment(run, started.body.deployment.id, until);
}

/** Polls a deployment until it reaches `until` or ends. */
export async function waitForDeployment(run: { adminUrl: string }, id: string, until = 'done', ms = 20_000): Promise<DeploymentView> {
  const ends = ['failed', 'done', 'rolled-back'];
  for (const deadline = Date.now() + ms; Date.now() < deadline; ) {
    const d = await callApi<DeploymentView>(run.adminUrl, 'GET', `/api/apps/web/deployments/${id}`);
    if (d.body.phase === until || ends.includes(d.body.phase)) return d.body;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`deployment ${id} did not reach ${until}`);
}

export interface ServeProcess {
  readonly child: ChildProcess;
  readonly proxyUrl: string;
  readonly adminUrl: string;
  output(): string;
}

/** `cutover serve -c configPath` as a child process; resolves once it listens. */
/** `cutover serve` spawned in a temp dir of its own, on a config of `apps` (and `extra`) written there. */
export async function spawnServeFresh(t: TestContext, apps = WEB_APP, extra = ''): Promise<ServeProcess & { dir: string; config: string }> {
  const dir = tempDir(t);
  const config = join(dir, 'cutover.yaml');
  writeFileSync(config, configText(dir, apps, extra));
  return { ...(await spawnServe(t, config)), dir, config };
}

export async function spawnServe(t: TestContext, configPath: string, env: Record<string, string> = {}): Promise<ServeProcess> {
  const child = spawn(process.execPath, [BIN, 'serve', '-c', configPath], {
    env: { ...process.env, CUTOVER_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    }
    // What the process driver ran outlives a SIGKILL on purpose (a restart adopts it); nothing will adopt it now.
    killProcessesUnder(dirname(configPath));
  });
  let output = '';
  child.stdout!.on('data', (c) => (output += c));
  const urls = await new Promise<{ proxyUrl: string; adminUrl: string }>((resolve, reject) => {
    child.stderr!.on('data', (chunk) => {
      output += chunk;
      const m = /proxy on (\S+), admin API on (\S+)/.exec(output);
      if (m) resolve({ proxyUrl: m[1]!.replace(/,$/, ''), adminUrl: m[2]! });
    });
    child.once('exit', (code) => reject(new Error(`cutover serve exited with ${code}: ${output}`)));
  });
  return { child, ...urls, output: () => output };
}

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the `cutover` command with `args`. */
export function runCli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, NO_COLOR: '1', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** Release folders for the example app, each with its release.json (failRate, neverHealthy, message ...). */
export function writeReleases(dir: string, releases: Record<string, object>): void {
  for (const [version, settings] of Object.entries(releases)) {
    mkdirSync(join(dir, 'releases', version), { recursive: true });
    writeFileSync(join(dir, 'releases', version, 'release.json'), JSON.stringify(settings));
  }
}

/**
 * An app run by the process driver from `releases/<version>` (the demo app, or `script`), plus `extra` YAML lines
 * for the app (indent 4).
 */
export function processApp(extra = '', instances = 2, script = join(ROOT, 'examples/app/server.mjs')): string {
  return `  web:
    driver:
      process: { command: "node ${script}", cwd: "./releases/{{version}}", instances: ${instances}, stopGrace: 2s }
    health: { path: /healthz, interval: 100ms, timeout: 1s, healthy: 2, unhealthy: 2, deadline: 5s }
    drain: 2s
${extra}`;
}

/** Waits until `condition` holds, polling; throws after `ms`. */
export async function eventually(condition: () => boolean | Promise<boolean>, ms = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${what} not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
