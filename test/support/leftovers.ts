// What a test leaves running is killed with its temp dir. A test that SIGKILLs `cutover serve` (or ends while it
// runs) leaves the process driver's instances alive on purpose: a restarted cutover adopts them. Without this they
// would outlive the suite, hundreds of idle processes after a few runs.
import { readdirSync, readlinkSync } from 'node:fs';

/** Sends SIGKILL to every process whose working directory is `dir` or below it; returns how many. */
export function killProcessesUnder(dir: string): number {
  let killed = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    if (!isUnder(cwdOf(entry), dir)) continue;
    try {
      process.kill(Number(entry), 'SIGKILL');
      killed++;
    } catch {
      // Gone already.
    }
  }
  return killed;
}

function cwdOf(pid: string): string | null {
  try {
    return readlinkSync(`/proc/${pid}/cwd`).replace(/ \(deleted\)$/, '');
  } catch {
    return null;
  }
}

function isUnder(path: string | null, dir: string): boolean {
  return path !== null && (path === dir || path.startsWith(`${dir}/`));
}
