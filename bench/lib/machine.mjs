// What this machine has: which tools are installed (the bench installs nothing), how many CPUs, and the
// CPU plan that follows from it.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { availableParallelism, cpus, release, type } from 'node:os';
import { delimiter, join } from 'node:path';
import { buildState } from '../../bin/sources.js';

/**
 * Two cores, so each side gets one (as in PERF-NOTES): the proxy under test alone on CPU 1; the load generator
 * and the tiny backend share CPU 0. The backend's share is small next to the proxy's, and it is the same for
 * every contender, so ratios hold; "direct" then measures what CPU 0 can drive with no proxy in the way.
 * `--backend-cpu proxy` moves the backend next to the proxy instead: an experiment on where a tail comes from
 * (bench/README.md, "The tail at 200 connections"), not the setup for figures.
 */
export function cpuPlan(backendCpu = 'loadgen') {
  return Object.freeze({ loadgen: 0, proxy: 1, backend: backendCpu === 'proxy' ? 1 : 0 });
}

// nginx and haproxy live in sbin, which a non-root PATH often lacks.
const EXTRA_DIRS = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

export function findExecutable(name) {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), ...EXTRA_DIRS].filter(Boolean);
  for (const dir of dirs) {
    const file = join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // Not in this directory.
    }
  }
  return null;
}

/** First line of `file args` on stdout or stderr (nginx -v prints on stderr), or null. */
export function versionOf(file, args) {
  const out = spawnSync(file, args, { encoding: 'utf8', timeout: 5_000 });
  const text = `${out.stdout ?? ''}${out.stderr ?? ''}`.trim();
  return text === '' ? null : text.split('\n')[0].trim();
}

/** The installed tools the bench can use, each with its path and version line; null when missing. */
export function detectTools() {
  const tool = (name, args) => {
    const file = findExecutable(name);
    return file === null ? null : { file, version: versionOf(file, args) };
  };
  return {
    wrk: tool('wrk', ['--version']),
    nginx: tool('nginx', ['-v']),
    haproxy: tool('haproxy', ['-v']),
    taskset: tool('taskset', ['--version']),
  };
}

export function describeMachine() {
  const cpuList = cpus();
  return {
    nproc: availableParallelism(),
    cpuModel: cpuList[0]?.model ?? 'unknown',
    os: `${type()} ${release()}`,
    node: process.version,
  };
}

/** Pins every thread of this process (where autocannon runs) to `cpu`. */
export function pinSelf(tools, cpu) {
  spawnSync(tools.taskset.file, ['-a', '-p', '-c', String(cpu), String(process.pid)], { stdio: 'ignore' });
}

/**
 * How busy the CPUs were over `ms` before the bench started anything: other people's test suites on a shared
 * machine move req/s by 2x and more, so the run says so. Null where /proc/stat does not exist.
 */
export async function busyShare(ms = 1_000) {
  const before = readCpuTimes();
  if (before === null) return null;
  await new Promise((resolve) => setTimeout(resolve, ms));
  const after = readCpuTimes();
  const total = after.total - before.total;
  return total === 0 ? 0 : 1 - (after.idle - before.idle) / total;
}

function readCpuTimes() {
  try {
    // First line of /proc/stat: "cpu  user nice system idle iowait irq softirq steal ..." over all CPUs.
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    return { idle: fields[3] + fields[4], total: fields.reduce((a, b) => a + b, 0) };
  } catch {
    return null;
  }
}

/** The cutover commit measured, with "+changes" when src/ or bin/ differ from it: figures belong to a commit. */
export function cutoverRevision(root) {
  const git = (args) => spawnSync('git', ['-C', root, ...args], { encoding: 'utf8', timeout: 5_000 });
  const head = git(['rev-parse', '--short', 'HEAD']);
  if (head.status !== 0) return 'unknown (not a git checkout)';
  const dirty = git(['status', '--porcelain', '--', 'src', 'bin']).stdout.trim() !== '';
  return `${head.stdout.trim()}${dirty ? '+changes' : ''}`;
}

/**
 * Which code bin/cutover.js will run, decided as bin/sources.js decides it: the compiled dist/ while its `.built`
 * stamp is newer than every file under src/, else the TypeScript sources through tsx (compiled on load, more
 * memory: not what figures are taken with). { build: boolean, text } for the setup lines and the JSON.
 */
export function cutoverCode(root) {
  const { builtAt, fresh } = buildState(root);
  if (builtAt === null) return { build: false, text: 'its TypeScript sources through tsx (no build: run `npm run build` for figures)' };
  if (fresh) return { build: true, text: `the compiled dist/ (built ${new Date(builtAt).toISOString()})` };
  return { build: false, text: 'its TypeScript sources through tsx (dist/ is older than src/: run `npm run build` for figures)' };
}
