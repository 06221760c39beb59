import { closeSync, openSync, writeFileSync } from 'node:fs';
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import type { InstanceDescription, InstanceEvent, LogLine } from './environment-driver.ts';
import type { InstanceSpec } from './instance-spec.ts';
import { adoptLeader, spawnLeader, type LeaderProcess } from './leader-process.ts';
import { OutputTail } from './output-tail.ts';
import type { PidRecord } from './pid-records.ts';
import { signalGroup, terminateGroup } from './process-group.ts';

export type InstanceState = Exclude<InstanceDescription['state'], 'external'>;

export interface RestartPolicy {
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  /** An instance that stayed up this long starts a fresh streak (and delay) at its next crash. */
  readonly resetAfterMs: number;
  /** Restarts in a row after which the instance is given up on ('failed'). */
  readonly maxRestarts: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = {
  initialDelayMs: 250,
  maxDelayMs: 10_000,
  resetAfterMs: 30_000,
  maxRestarts: 10,
};

export interface InstanceListener {
  onEvent(kind: InstanceEvent['kind'], detail: string): void;
  onLine(stream: 'stdout' | 'stderr', text: string, written: LogLine['written']): void;
  /** The process behind the instance changed (started, restarted, gone): its record is out of date. */
  onProcessChange(): void;
}

export interface InstanceOptions {
  readonly spec: InstanceSpec;
  readonly stopGraceMs: number;
  readonly restart: RestartPolicy;
  readonly clock: Clock;
  readonly log: Logger;
  readonly listener: InstanceListener;
}

const OUTPUT_POLL_MS = 100;

/** One supervised copy of a process environment: started or adopted, restarted when it dies, stopped on request. */
export class Instance {
  private state: InstanceState = 'starting';
  private leader: LeaderProcess | null = null;
  private restarts = 0;
  private lastExit: string | null = null;
  private streak = 0;
  private restartTimer: NodeJS.Timeout | null = null;
  private outputTimer: NodeJS.Timeout | null = null;
  private stopping: Promise<void> | null = null;
  private outputWarned = false;
  private readonly tails: OutputTail[];

  constructor(private readonly options: InstanceOptions) {
    const { spec, listener } = options;
    this.tails = [
      new OutputTail({ path: spec.stdoutPath, onLine: (text, backlog) => listener.onLine('stdout', text, backlog ? 'before' : 'at') }),
      new OutputTail({ path: spec.stderrPath, onLine: (text, backlog) => listener.onLine('stderr', text, backlog ? 'before' : 'at') }),
    ];
  }

  get spec(): InstanceSpec {
    return this.options.spec;
  }

  /** Spawns the process, with fresh output files. */
  start(): void {
    writeFileSync(this.spec.stdoutPath, '');
    writeFileSync(this.spec.stderrPath, '');
    this.watchOutput('start');
    this.run();
  }

  /**
   * Takes over a process of the previous run; its output files are read on from their recent end. What they hold
   * already was written while no cutover was reading them, so those lines are passed on as written 'before' now.
   */
  adopt(record: PidRecord): void {
    for (const path of [this.spec.stdoutPath, this.spec.stderrPath]) closeSync(openSync(path, 'a'));
    this.watchOutput('end');
    this.follow(adoptLeader(record.pid, record.startTime, record.startedAt));
    this.options.log.info({ pid: record.pid, url: this.spec.url }, `adopted ${this.spec.color}#${this.spec.index} (pid ${record.pid}) from the previous run`);
  }

  /** SIGTERM to the process group, SIGKILL after the grace; no restart follows. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  describe(): InstanceDescription {
    const leader = this.state === 'running' ? this.leader : null;
    // An exit is news until the process after it has run as long as a restart streak lasts.
    const steady = leader != null && this.options.clock.now() - leader.startedAt >= this.options.restart.resetAfterMs;
    return {
      url: this.spec.url,
      state: this.state,
      pid: leader?.pid ?? null,
      restarts: this.restarts,
      startedAt: leader?.startedAt ?? null,
      lastExit: steady ? null : this.lastExit,
    };
  }

  /** What the next cutover run needs to find this instance's process again; null while none runs. */
  record(): PidRecord | null {
    const leader = this.leader;
    if (this.state !== 'running' || leader?.pid == null || leader.startTime === null) return null;
    const { app, color, version, index, port } = this.spec;
    return { app, color, version, index, port, pid: leader.pid, startTime: leader.startTime, startedAt: leader.startedAt };
  }

  private run(): void {
    this.follow(spawnLeader(this.spec, this.options.clock.now()));
  }

  private follow(leader: LeaderProcess): void {
    this.leader = leader;
    this.state = 'running';
    this.options.listener.onProcessChange();
    void leader.done.then((detail) => this.onExit(leader, detail));
  }

  private onExit(leader: LeaderProcess, detail: string): void {
    if (this.stopping !== null || leader !== this.leader) return;
    // The shell is gone; whatever it left in its group would keep the port and block the restart.
    if (leader.pid !== null) signalGroup(leader.pid, 'SIGKILL');
    const { restart, clock, listener } = this.options;
    this.lastExit = detail;
    listener.onEvent('exited', `${this.name()} ${detail}`);
    if (clock.now() - leader.startedAt >= restart.resetAfterMs) this.streak = 0;
    if (this.streak >= restart.maxRestarts) return this.giveUp(detail);
    const delay = Math.min(restart.maxDelayMs, restart.initialDelayMs * 2 ** this.streak);
    this.streak++;
    this.state = 'restarting';
    listener.onProcessChange();
    this.restartTimer = setTimeout(() => this.restartNow(delay), delay);
  }

  private restartNow(delay: number): void {
    this.restartTimer = null;
    this.restarts++;
    this.run();
    const pid = this.leader?.pid ?? 'none';
    this.options.listener.onEvent('restarted', `${this.name()} restarted (restart ${this.restarts}, pid ${pid}) after ${delay} ms`);
  }

  private giveUp(detail: string): void {
    this.state = 'failed';
    this.options.listener.onProcessChange();
    const restart = this.options.restart;
    this.options.listener.onEvent('gave-up', `${this.name()} ${detail} after ${restart.maxRestarts} restarts in a row; not restarting it again`);
  }

  private async shutdown(): Promise<void> {
    if (this.restartTimer !== null) clearTimeout(this.restartTimer);
    const leader = this.leader;
    if (leader?.pid != null) await terminateGroup(leader.pid, this.options.stopGraceMs, () => leader.isGone());
    leader?.dispose();
    this.state = 'stopped';
    this.unwatchOutput();
    this.options.listener.onProcessChange();
  }

  private watchOutput(at: 'start' | 'end'): void {
    for (const tail of this.tails) tail.open(at);
    this.pollOutput();
    this.outputTimer = setInterval(() => this.pollOutput(), OUTPUT_POLL_MS);
    this.outputTimer.unref();
  }

  private unwatchOutput(): void {
    if (this.outputTimer !== null) clearInterval(this.outputTimer);
    this.outputTimer = null;
    for (const tail of this.tails) this.guard(() => tail.close());
  }

  private pollOutput(): void {
    for (const tail of this.tails) this.guard(() => tail.poll());
  }

  private guard(action: () => void): void {
    try {
      action();
    } catch (err) {
      if (this.outputWarned) return;
      this.outputWarned = true;
      this.options.log.warn({ err }, `reading the output of ${this.name()} failed: ${(err as Error).message}`);
    }
  }

  private name(): string {
    return `${this.spec.color}#${this.spec.index} (${this.spec.url})`;
  }
}
