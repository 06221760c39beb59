// The primary's side of the data-path workers: forks them (node:cluster, so they share the listening ports),
// pushes every route table and health verdict, merges what they report, and replaces one that dies.

import cluster, { type Worker } from 'node:cluster';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Config } from '../config/config.ts';
import { CutoverError } from '../core/errors.ts';
import type { EventSink } from '../core/events.ts';
import type { Logger } from '../core/logger.ts';
import type { TargetRegistry } from '../pool/target-registry.ts';
import type { Target } from '../pool/target.ts';
import type { RouteTable } from '../proxy/route-table.ts';
import type { StatsRegistry } from '../stats/stats-registry.ts';
import type { UpstreamErrorCounter } from '../stats/upstream-errors.ts';
import type { FromWorker, HealthVerdict, ToWorker, WorkerReport } from './messages.ts';
import { RemoteLoads } from './remote-loads.ts';

export interface WorkerPoolOptions {
  readonly count: number;
  readonly config: () => Config;
  readonly registry: TargetRegistry;
  readonly stats: StatsRegistry;
  readonly upstreamErrors: UpstreamErrorCounter;
  readonly events: EventSink;
  readonly log: Logger;
}

/** A worker that has not said it listens by then failed to start. */
const START_MS = 30_000;
/** A route table not acknowledged by a worker by then is logged; the switch returns without it. */
const APPLY_MS = 2_000;
/** After the drain, a worker gets this long to exit before it is killed. */
const EXIT_GRACE_MS = 5_000;
/** Restart backoff for a worker that keeps dying: from the first to the last, doubling. */
const RESTART_MS = { first: 100, last: 5_000 };

interface Member {
  readonly worker: Worker;
  /** It said it listens for messages; nothing is sent to it before. */
  ready: boolean;
  /** The newest route table generation this worker applied. */
  applied: number;
  /** Requests held by paused apps in this worker, by app. */
  held: Map<string, number>;
}

export class DataPathWorkers {
  private readonly members = new Map<number, Member>();
  private readonly loads: RemoteLoads;
  private table: RouteTable | null = null;
  private stopping = false;
  private restartMs = RESTART_MS.first;
  private readonly waiters = new Set<() => void>();

  constructor(private readonly options: WorkerPoolOptions) {
    this.loads = new RemoteLoads(options.registry);
    cluster.setupPrimary({ exec: fileURLToPath(new URL('../../bin/cutover-worker.js', import.meta.url)), execArgv: [], args: [] });
  }

  /** Forks every worker and resolves with where they listen once each one does. */
  async start(): Promise<Map<string, AddressInfo>> {
    const started = await Promise.all(Array.from({ length: this.options.count }, () => this.fork()));
    return started[0]!;
  }

  /** Sends `table` to every worker; resolves once each has applied it (or after APPLY_MS, logged). */
  apply(table: RouteTable): Promise<void> {
    this.table = table;
    this.broadcast({ kind: 'routes', table, health: this.verdicts() });
    return this.allApplied(table.generation);
  }

  /** The registry's listener in the primary: every verdict goes to every worker. */
  onTargetHealth(target: Target, healthy: boolean, reason: string | null): void {
    this.broadcast({ kind: 'health', verdicts: [{ app: target.app, color: target.color, url: target.url, healthy, reason }] });
  }

  reconfigure(config: Config): void {
    this.broadcast({ kind: 'config', config });
  }

  /** Requests held by a pause of `app`, in every worker. */
  held(app: string): number {
    let sum = 0;
    for (const member of this.members.values()) sum += member.held.get(app) ?? 0;
    return sum;
  }

  get size(): number {
    return this.members.size;
  }

  /** Pids of the running workers. */
  pids(): number[] {
    return [...this.members.values()].map((m) => m.worker.process.pid ?? 0);
  }

  /** Every worker stops accepting, finishes what it has (up to `drainMs`) and exits; stragglers are killed. */
  async stop(drainMs: number): Promise<void> {
    this.stopping = true;
    const exits = [...this.members.values()].map((m) => this.exitOf(m.worker, drainMs + EXIT_GRACE_MS));
    this.broadcast({ kind: 'stop', drainMs });
    // A worker still loading (not yet asking for its config) cannot hear the message and has nothing open.
    for (const { worker, ready } of this.members.values()) if (!ready) worker.process.kill('SIGKILL');
    await Promise.all(exits);
  }

  private fork(): Promise<Map<string, AddressInfo>> {
    const worker = cluster.fork();
    const member: Member = { worker, ready: false, applied: 0, held: new Map() };
    this.members.set(worker.id, member);
    worker.on('message', (message: FromWorker) => this.onMessage(member, message));
    worker.on('exit', (code, signal) => this.onExit(member, code, signal));
    // A worker killed while a message was under way: its exit is handled, the write error is not news.
    worker.on('error', (err) => this.options.log.debug({ err: err.message, pid: worker.process.pid }, 'data-path worker channel error'));
    return this.listening(worker);
  }

  private listening(worker: Worker): Promise<Map<string, AddressInfo>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => fail(new CutoverError('WORKER_START', 500, `data-path worker ${worker.process.pid} did not start listening within ${START_MS / 1000} s`)), START_MS);
      const fail = (err: Error) => {
        clearTimeout(timer);
        worker.off('message', onMessage);
        reject(err);
      };
      const onMessage = (message: FromWorker) => {
        if (message.kind === 'failed') fail(new CutoverError(message.code, 500, message.message));
        if (message.kind !== 'listening') return;
        clearTimeout(timer);
        worker.off('message', onMessage);
        resolve(new Map(message.addresses));
      };
      worker.on('message', onMessage);
      worker.once('exit', (code) => fail(new CutoverError('WORKER_START', 500, `data-path worker ${worker.process.pid} exited (${code}) before it listened`)));
    });
  }

  private onMessage(member: Member, message: FromWorker): void {
    switch (message.kind) {
      case 'applied':
        member.applied = Math.max(member.applied, message.generation);
        for (const wake of [...this.waiters]) wake();
        return;
      case 'failure':
        this.options.registry.get(message.app, message.color, message.url)?.onTrafficFailure(message.error);
        return;
      case 'report':
        this.absorb(member, message);
        return;
      case 'ready':
        member.ready = true;
        member.worker.send({ kind: 'config', config: this.options.config() } satisfies ToWorker);
        if (this.table !== null) member.worker.send({ kind: 'routes', table: this.table, health: this.verdicts() } satisfies ToWorker);
        return;
      case 'listening':
        this.restartMs = RESTART_MS.first;
    }
  }

  private absorb(member: Member, report: WorkerReport): void {
    const { stats, upstreamErrors } = this.options;
    for (const { app, color, delta } of report.traffic) stats.forEnv(app, color).absorb(delta);
    for (const e of report.upstreamErrors) upstreamErrors.count(e.app, e.color, e.kind, e.count);
    this.loads.update(member.worker.id, report.targets);
    member.held = new Map(report.held);
  }

  private onExit(member: Member, code: number | null, signal: string | null): void {
    this.members.delete(member.worker.id);
    this.loads.forget(member.worker.id);
    for (const wake of [...this.waiters]) wake();
    if (this.stopping) return;
    const pid = member.worker.process.pid;
    this.options.log.error({ pid, code, signal }, 'a data-path worker died; starting another');
    this.options.events.emit({ type: 'worker.exited', pid, code, signal });
    const delay = this.restartMs;
    this.restartMs = Math.min(this.restartMs * 2, RESTART_MS.last);
    setTimeout(() => {
      if (this.stopping) return;
      this.fork().catch((err) => this.options.log.error({ err }, 'the replacement data-path worker did not start'));
    }, delay).unref();
  }

  private allApplied(generation: number): Promise<void> {
    const done = () => [...this.members.values()].every((m) => m.applied >= generation);
    if (done()) return Promise.resolve();
    return new Promise((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      const check = () => {
        if (done()) finish();
      };
      const timer = setTimeout(() => {
        const late = [...this.members.values()].filter((m) => m.applied < generation).map((m) => m.worker.process.pid);
        this.options.log.warn({ generation, workers: late }, 'data-path workers did not confirm the new route table in time');
        finish();
      }, APPLY_MS);
      this.waiters.add(check);
    });
  }

  private verdicts(): HealthVerdict[] {
    return this.options.registry.all().map((t) => ({ app: t.app, color: t.color, url: t.url, healthy: t.healthy, reason: t.status().lastError }));
  }

  private broadcast(message: ToWorker): void {
    for (const { worker, ready } of this.members.values()) if (ready && worker.isConnected()) worker.send(message);
  }

  private exitOf(worker: Worker, killAfterMs: number): Promise<void> {
    if (worker.isDead()) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => worker.process.kill('SIGKILL'), killAfterMs);
      worker.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
