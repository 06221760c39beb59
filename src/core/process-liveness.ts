// Whether a process still runs, as the operating system says. On Linux /proc is read so that zombies count as
// gone (this machine's pid 1 does not reap them); elsewhere `kill(pid, 0)` and `ps` stand in.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** An identity for a process that survives pid reuse: its start time (`/proc/<pid>/stat` field 22). */
export function processStartTime(pid: number): string | null {
  const stat = readStat(pid);
  if (stat !== null) return stat.state === 'Z' ? null : stat.startTime;
  if (hasProc()) return null;
  try {
    return execFileSync('ps', ['-o', 'lstart=', '-p', String(pid)], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
}

/** Whether `pid` still runs and is the process that started at `startTime`. */
export function isSameProcess(pid: number, startTime: string | null): boolean {
  return startTime !== null && processStartTime(pid) === startTime;
}

/** True while `pid` runs (a zombie does not). */
export function isRunning(pid: number): boolean {
  const stat = readStat(pid);
  if (stat !== null) return stat.state !== 'Z';
  if (hasProc()) return false;
  return signalOk(pid, 0);
}

export interface ProcStat {
  readonly state: string;
  readonly pgrp: number;
  readonly startTime: string;
}

export function readStat(pid: number): ProcStat | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // "pid (comm) state ppid pgrp ..."; comm may hold spaces and parentheses, so split after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0]!, pgrp: Number(fields[2]), startTime: fields[19]! };
}

let procChecked: boolean | null = null;

export function hasProc(): boolean {
  procChecked ??= readStat(process.pid) !== null;
  return procChecked;
}

export function signalOk(pid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}
