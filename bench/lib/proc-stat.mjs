// What /proc says about processes: CPU time per process group, resident memory of a process tree. Linux only;
// elsewhere every reader returns null and the bench prints "–".
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

export const TICKS_PER_SECOND = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim()) || 100;

/** Every process id in /proc, or null when /proc cannot be read. */
export function listPids() {
  try {
    return readdirSync('/proc').filter((name) => /^\d+$/.test(name)).map(Number);
  } catch {
    return null;
  }
}

/**
 * /proc/PID/stat fields after the command name (which may hold spaces and parentheses): ppid, pgrp, and
 * utime + stime in clock ticks (all of the process's threads). Null when the process is gone.
 */
export function readStat(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { pid, parent: Number(fields[1]), group: Number(fields[2]), ticks: Number(fields[11]) + Number(fields[12]) };
  } catch {
    return null;
  }
}

/**
 * CPU-seconds used so far by the live processes of one process group (each bench child leads its own, so
 * this is nginx's master and worker, or a Node process and any it forked). Null without /proc.
 */
export function groupCpuSeconds(group) {
  const pids = listPids();
  if (pids === null) return null;
  let ticks = 0;
  for (const pid of pids) {
    const stat = readStat(pid);
    if (stat !== null && stat.group === group) ticks += stat.ticks;
  }
  return ticks / TICKS_PER_SECOND;
}

/**
 * VmRSS of `root` and all its descendants: { mb, largestMb, processes }, or null without /proc. Pages shared
 * between processes (a forked worker's) count once per process, as in `ps`.
 */
export function treeRss(root) {
  const tree = processTree(root);
  if (tree === null) return null;
  const mbs = tree.map((p) => p.rssMb);
  return { mb: mbs.reduce((a, b) => a + b, 0), largestMb: Math.max(...mbs), processes: mbs.length };
}

/**
 * `root` and all its descendants, root first, each as { pid, parent, rssMb, command } (VmRSS; command: its argv
 * joined by spaces, '' once gone); null without /proc. For telling a primary from its forked workers.
 */
export function processTree(root) {
  const pids = listPids();
  if (pids === null) return null;
  const children = new Map();
  for (const pid of pids) {
    const stat = readStat(pid);
    if (stat === null) continue;
    if (!children.has(stat.parent)) children.set(stat.parent, []);
    children.get(stat.parent).push(pid);
  }
  const tree = [];
  const queue = [{ pid: root, parent: null }];
  while (queue.length > 0) {
    const { pid, parent } = queue.shift();
    tree.push({ pid, parent, rssMb: rssKb(pid) / 1024, command: commandOf(pid) });
    queue.push(...(children.get(pid) ?? []).map((child) => ({ pid: child, parent: pid })));
  }
  return tree;
}

function commandOf(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
  } catch {
    return '';
  }
}

function rssKb(pid) {
  try {
    const match = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+) kB/m);
    return match === null ? 0 : Number(match[1]);
  } catch {
    return 0;
  }
}
