// Real etcd for tests: /usr/bin/etcd members on free loopback ports, each with its data in a temp dir. A member
// can be stopped (SIGTERM) or killed (SIGKILL) and started again on the same ports and data, as an outage would go.
// Test files run in parallel, so ports are picked by binding port 0, and a start that lost its port to another
// process is retried on new ones.

import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';

export const ETCD_BINARY = process.env.ETCD_BINARY ?? '/usr/bin/etcd';

export interface EtcdClusterOptions {
  /** Members; 1 (default) is a single server, 3 a cluster that survives losing one. */
  readonly size?: number;
  /** Cleaned up when this test ends; otherwise call `cleanup()` (in an `after` hook). */
  readonly t?: TestContext;
}

/** One etcd process; `start` again after `stop` or `kill` resumes on the same ports and data. */
export class EtcdMember {
  readonly clientUrl: string;
  #child: ChildProcess | null = null;
  #output = '';

  constructor(
    readonly name: string,
    private readonly args: readonly string[],
    clientPort: number,
  ) {
    this.clientUrl = `http://127.0.0.1:${clientPort}`;
  }

  get running(): boolean {
    return this.#child !== null;
  }

  /** Spawns the process; `ready` waits until it serves. */
  spawn(): void {
    if (this.#child !== null) return;
    const child = spawn(ETCD_BINARY, this.args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (chunk: Buffer) => (this.#output = (this.#output + chunk.toString()).slice(-OUTPUT_KEPT));
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const gone = () => {
      if (this.#child === child) this.#child = null;
    };
    child.once('exit', gone);
    child.once('error', (err) => {
      this.#output += `${err.message} (is etcd installed? .ci/run installs etcd-server)`;
      gone();
    });
    this.#child = child;
  }

  /** Until `/health` says true: the member is up and the cluster has a leader. */
  async ready(timeoutMs = READY_TIMEOUT_MS): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.#child === null) throw new EtcdStartError(this.name, `exited before serving:\n${this.#output}`);
      if (await this.#healthy()) return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new EtcdStartError(this.name, `not healthy within ${timeoutMs} ms:\n${this.#output}`);
  }

  async start(): Promise<void> {
    this.spawn();
    await this.ready();
  }

  /** SIGTERM, as a service manager stops it; returns once it exited. */
  async stop(): Promise<void> {
    await this.#signal('SIGTERM');
  }

  /** SIGKILL, as a crash or kill -9. */
  async kill(): Promise<void> {
    await this.#signal('SIGKILL');
  }

  /** SIGSTOP: the member keeps its connections open but answers nothing, like a hung machine. */
  async pause(): Promise<void> {
    const pid = this.#child?.pid;
    this.#child?.kill('SIGSTOP');
    // The stop reaches each of etcd's threads when it is next scheduled: wait until every one is stopped, so no
    // request sent from now on can still be answered.
    for (let i = 0; i < 200 && pid !== undefined && !allThreadsStopped(pid); i++) await new Promise((r) => setTimeout(r, 5));
  }

  /** SIGCONT after `pause`. */
  resume(): void {
    this.#child?.kill('SIGCONT');
  }

  /** By the member's own status, through etcd's JSON gateway. */
  async isLeader(): Promise<boolean> {
    const res = await fetch(`${this.clientUrl}/v3/maintenance/status`, {
      method: 'POST',
      body: '{}',
      signal: AbortSignal.timeout(1_000),
    });
    const status = (await res.json()) as { leader?: string; header?: { member_id?: string } };
    return status.leader !== undefined && status.leader === status.header?.member_id;
  }

  get output(): string {
    return this.#output;
  }

  async #signal(signal: NodeJS.Signals): Promise<void> {
    const child = this.#child;
    if (child === null) return;
    const exited = once(child, 'exit');
    child.kill(signal);
    await exited;
  }

  async #healthy(): Promise<boolean> {
    try {
      const res = await fetch(`${this.clientUrl}/health`, { signal: AbortSignal.timeout(1_000) });
      return res.ok && ((await res.json()) as { health?: string }).health === 'true';
    } catch {
      return false;
    }
  }
}

/** One or more members forming one etcd cluster, all in one temp dir. */
export class EtcdCluster {
  private constructor(
    readonly members: readonly EtcdMember[],
    private readonly dir: string,
  ) {}

  static async start(options: EtcdClusterOptions = {}): Promise<EtcdCluster> {
    const size = options.size ?? 1;
    for (let attempt = 1; ; attempt++) {
      const dir = mkdtempSync(join(DATA_ROOT, 'cutover-etcd-'));
      const cluster = new EtcdCluster(await planMembers(size, dir), dir);
      try {
        await cluster.start();
        options.t?.after(() => cluster.cleanup());
        return cluster;
      } catch (err) {
        await cluster.cleanup();
        // Another test may have bound a port between our probe and etcd's bind.
        const lostPort = err instanceof EtcdStartError && err.message.includes('address already in use');
        if (!lostPort || attempt >= START_ATTEMPTS) throw err;
      }
    }
  }

  get endpoints(): string[] {
    return this.members.map((m) => m.clientUrl);
  }

  /** The first member's URL: the endpoint of a single server. */
  get endpoint(): string {
    return this.members[0]!.clientUrl;
  }

  /** Starts every member not running and waits until each serves. Members of a new cluster must start together. */
  async start(): Promise<void> {
    for (const member of this.members) member.spawn();
    await Promise.all(this.members.map((m) => m.ready()));
  }

  async stop(): Promise<void> {
    await Promise.all(this.members.map((m) => m.stop()));
  }

  /** The member that currently leads the cluster. */
  async leader(): Promise<EtcdMember> {
    for (const member of this.members) {
      if (member.running && (await member.isLeader())) return member;
    }
    throw new Error('no running member leads');
  }

  async kill(): Promise<void> {
    await Promise.all(this.members.map((m) => m.kill()));
  }

  /** Kills every member and removes the data. */
  async cleanup(): Promise<void> {
    await this.kill();
    for (const member of this.members) running.delete(member);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Shorthand for the common case: one etcd server for one test or one file. */
export function startEtcd(t?: TestContext): Promise<EtcdCluster> {
  return EtcdCluster.start({ t });
}

export class EtcdStartError extends Error {
  constructor(member: string, problem: string) {
    super(`etcd member ${member} ${problem}`);
  }
}

const READY_TIMEOUT_MS = 20_000;
const START_ATTEMPTS = 5;
const OUTPUT_KEPT = 8 * 1024;
// etcd syncs its log on every write; on tmpfs that costs nothing, which keeps the store suites fast.
const DATA_ROOT = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
// Shorter than etcd's defaults (100 ms, 1 s) so a cluster elects its leader quickly, with enough room for a loaded
// CI machine: a member waits 10 heartbeats before calling an election.
const HEARTBEAT_MS = 25;
const ELECTION_MS = 250;

const running = new Set<EtcdMember>();
process.once('exit', () => {
  // A test file that dies without its after hooks must not leave etcd processes behind.
  for (const member of running) void member.kill();
});

async function planMembers(size: number, dir: string): Promise<EtcdMember[]> {
  const ports = await freePorts(size * 2);
  const names = Array.from({ length: size }, (_, i) => `m${i + 1}`);
  const peerUrl = (i: number) => `http://127.0.0.1:${ports[2 * i + 1]}`;
  const initialCluster = names.map((name, i) => `${name}=${peerUrl(i)}`).join(',');
  const token = `cutover-test-${process.pid}-${ports[0]}`;
  return names.map((name, i) => {
    const clientUrl = `http://127.0.0.1:${ports[2 * i]}`;
    const member = new EtcdMember(name, [
      '--name', name,
      '--data-dir', join(dir, name),
      '--listen-client-urls', clientUrl,
      '--advertise-client-urls', clientUrl,
      '--listen-peer-urls', peerUrl(i),
      '--initial-advertise-peer-urls', peerUrl(i),
      '--initial-cluster', initialCluster,
      '--initial-cluster-token', token,
      '--initial-cluster-state', 'new',
      '--heartbeat-interval', String(HEARTBEAT_MS),
      '--election-timeout', String(ELECTION_MS),
      '--logger', 'zap',
      '--log-level', 'error',
    ], ports[2 * i]!);
    running.add(member);
    return member;
  });
}

/** Distinct free loopback ports: all bound at once, so none repeats, then released for etcd to take. */
async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const server = createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
    }
    return servers.map((s) => (s.address() as AddressInfo).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  }
}

function allThreadsStopped(pid: number): boolean {
  try {
    return readdirSync(`/proc/${pid}/task`).every((tid) => {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      return /^[Tt]$/.test(stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3));
    });
  } catch {
    return true;
  }
}
