// The processes a test starts, found through /proc: what it leaves running is killed with it, and a cutover's
// data-path workers are found by their parent. A test that SIGKILLs `cutover serve` (or ends while it
// runs) leaves the process driver's instances alive on purpose: a restarted cutover adopts them. Without this they
// would outlive the suite, hundreds of idle processes after a few runs.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { constants } from 'node:os';

/** Sends SIGKILL to every process whose working directory is `dir` or below it; returns how many. */
export function killProcessesUnder(dir: string): number {
  let killed = 0;
  for (const pid of processIds()) {
    if (pid === process.pid || !isUnder(cwdOf(pid), dir)) continue;
    try {
      process.kill(pid, 'SIGKILL');
      killed++;
    } catch {
      // Gone already.
    }
  }
  return killed;
}

/** The pids of a process's children (a cutover's data-path workers), from /proc. */
export function childrenOf(pid: number): number[] {
  return processIds().filter((child) => parentOf(child) === pid);
}

/** Whether `pid` runs (a zombie, ended but not yet reaped, does not). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** Whether `pid` has a handler for SIGHUP (bit 0 of SigCgt in /proc/PID/status): cutover serve holds its signals. */
export function catchesSighup(pid: number): boolean {
  const line = /^SigCgt:\s*([0-9a-f]+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return line !== null && (BigInt(`0x${line[1]}`) & 1n) === 1n;
}

/** Whether `signal` is pending for process `pid`, sent but not yet delivered (ShdPnd and SigPnd in /proc/PID/status). */
export function signalPending(pid: number, signal: NodeJS.Signals): boolean {
  const bit = 1n << BigInt(constants.signals[signal] - 1);
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return ['ShdPnd', 'SigPnd'].some((field) => {
    const line = new RegExp(`^${field}:\\s*([0-9a-f]+)$`, 'm').exec(status);
    return line !== null && (BigInt(`0x${line[1]}`) & bit) !== 0n;
  });
}

function processIds(): number[] {
  return readdirSync('/proc').filter((entry) => /^\d+$/.test(entry)).map(Number);
}

function parentOf(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return null; // Gone since readdir.
  }
}

function cwdOf(pid: number): string | null {
  try {
    return readlinkSync(`/proc/${pid}/cwd`).replace(/ \(deleted\)$/, '');
  } catch {
    return null;
  }
}

function isUnder(path: string | null, dir: string): boolean {
  return path !== null && (path === dir || path.startsWith(`${dir}/`));
}
