// The OS process behind an instance at one moment: a shell we spawned in its own process group, or such a shell
// (or what it exec'd) adopted from the previous cutover run. Either way it leads the group its instance owns.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import type { InstanceSpec } from './instance-spec.ts';
import { isSameProcess, processStartTime } from './process-group.ts';

export interface LeaderProcess {
  /** Null when the spawn itself failed. */
  readonly pid: number | null;
  readonly startTime: string | null;
  readonly startedAt: number;
  /** Resolves with a sentence ("exited with code 1") once the process is gone. */
  readonly done: Promise<string>;
  /** Whether it is gone, asked of the OS now rather than at the last poll. */
  isGone(): boolean;
  /** Stops watching (an adopted process is polled). */
  dispose(): void;
}

/** How often an adopted process, which is not our child and sends no 'exit', is checked. */
export const ADOPTED_POLL_MS = 1_000;

/** `/bin/sh -c command`, detached (its own process group), output appended to the instance's files. */
export function spawnLeader(spec: InstanceSpec, now: number): LeaderProcess {
  let child: ChildProcess;
  try {
    child = spawnDetached(spec);
  } catch (err) {
    return failedLeader(now, `could not start: ${(err as Error).message}`);
  }
  if (child.pid === undefined) {
    const failure = new Promise<string>((resolve) => child.once('error', (err) => resolve(`could not start: ${err.message}`)));
    return { ...failedLeader(now, ''), done: failure };
  }
  // Only a failed kill or IPC send would emit 'error' on a running child; neither is used, but an unhandled
  // 'error' event would take cutover down.
  child.on('error', () => {});
  let exited = false;
  const done = new Promise<string>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = true;
      resolve(signal === null ? `exited with code ${code}` : `was killed by ${signal}`);
    });
  });
  const pid = child.pid;
  return { pid, startTime: processStartTime(pid), startedAt: now, done, isGone: () => exited, dispose: () => {} };
}

/** A process of the previous run, known by pid and start time; gone once either no longer matches. */
export function adoptLeader(pid: number, startTime: string, startedAt: number): LeaderProcess {
  const isGone = () => !isSameProcess(pid, startTime);
  let timer: NodeJS.Timeout | undefined;
  const done = new Promise<string>((resolve) => {
    timer = setInterval(() => {
      if (!isGone()) return;
      clearInterval(timer);
      resolve(`adopted process ${pid} is gone (its exit status cannot be known)`);
    }, ADOPTED_POLL_MS);
    timer.unref();
  });
  return { pid, startTime, startedAt, done, isGone, dispose: () => clearInterval(timer) };
}

function spawnDetached(spec: InstanceSpec): ChildProcess {
  const out = openSync(spec.stdoutPath, 'a');
  const err = openSync(spec.stderrPath, 'a');
  try {
    return spawn('/bin/sh', ['-c', spec.command], {
      cwd: spec.cwd,
      env: spec.env,
      detached: true,
      stdio: ['ignore', out, err],
    });
  } finally {
    closeSync(out);
    closeSync(err);
  }
}

function failedLeader(now: number, reason: string): LeaderProcess {
  return { pid: null, startTime: null, startedAt: now, done: Promise.resolve(reason), isGone: () => true, dispose: () => {} };
}
