// CPU time that processes the bench did not start used during a run. On a machine shared with other people's
// test suites this is what moved req/s by 2x between two runs of the same contender; the bench reports it per
// run instead of leaving the reader to guess. Linux only (reads /proc); elsewhere it reports null.
// Processes that start and end between two snapshots are missed: this is a lower bound.
import { listPids, readStat, TICKS_PER_SECOND } from './proc-stat.mjs';

export class ForeignCpu {
  /** @param {() => Set<number>} ourGroups process group ids of the bench's children (each leads its own group) */
  constructor(ourGroups) {
    this.ourGroups = ourGroups;
  }

  /** Ticks per process not ours, right now; null when /proc cannot be read. */
  snapshot() {
    const pids = listPids();
    if (pids === null) return null;
    const ours = this.ourGroups();
    const ticks = new Map();
    for (const pid of pids) {
      const stat = readStat(pid);
      // Kernel threads (children of kthreadd, pid 2) include ksoftirqd, which carries our own loopback traffic.
      if (stat === null || pid === process.pid || ours.has(stat.group) || stat.parent === 2 || pid === 2) continue;
      ticks.set(pid, stat.ticks);
    }
    return ticks;
  }

  /** CPU-seconds used by other processes between two snapshots (a process new since `before` counts whole). */
  static secondsBetween(before, after) {
    if (before === null || after === null) return null;
    let ticks = 0;
    for (const [pid, now] of after) ticks += now - (before.get(pid) ?? 0);
    return ticks / TICKS_PER_SECOND;
  }
}
