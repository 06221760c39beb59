// What the operating system says about a process and its group. Instances are spawned `detached`, so each one
// leads its own process group (pgid = pid) and a signal to -pid reaches the shell and everything it started.
// On Linux /proc is read so that zombies count as gone; elsewhere `kill(pid, 0)` and `ps` stand in.
import { readdirSync } from 'node:fs';
import { hasProc, isRunning, readStat, signalOk } from '../core/process-liveness.ts';

export { isRunning, isSameProcess, processStartTime } from '../core/process-liveness.ts';

const POLL_MS = 50;
/** After SIGKILL the kernel needs a moment; past this a stop stops waiting rather than hang a shutdown. */
const KILL_WAIT_MS = 2_000;

/** Whether any live member of the process group `pgid` remains (the shell may be gone, its children not). */
export function groupRunning(pgid: number): boolean {
  if (!hasProc()) return signalOk(-pgid, 0);
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readStat(Number(name));
    if (stat !== null && stat.pgrp === pgid && stat.state !== 'Z') return true;
  }
  return false;
}

/** Sends `signal` to the whole group; a group that is already gone is fine. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  signalOk(-pgid, signal);
}

/**
 * SIGTERM to the group, SIGKILL to it after `graceMs` if anything of it still runs. `leaderGone` tells when the
 * group's leader has exited (for a spawned child: its 'exit' event; for an adopted one: /proc).
 */
export async function terminateGroup(pgid: number, graceMs: number, leaderGone: () => boolean): Promise<void> {
  const gone = () => leaderGone() && !groupRunning(pgid);
  const send = (signal: NodeJS.Signals) => {
    signalGroup(pgid, signal);
    // In case the leader left its group (setsid): it is still ours while it runs.
    if (!leaderGone()) signalOk(pgid, signal);
  };
  send('SIGTERM');
  if (await waitUntil(gone, graceMs)) return;
  send('SIGKILL');
  await waitUntil(gone, KILL_WAIT_MS);
}

export async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (condition()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
