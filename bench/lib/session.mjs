// What every bench script shares: the installed tools, the CPU plan, one ProcessSet that owns every child, a temp
// dir, and the promise that all of it is stopped and removed at the end, on an error and on Ctrl-C.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuPlan, describeMachine, detectTools, pinSelf } from './machine.mjs';
import { ProcessSet } from './processes.mjs';

export const benchDir = dirname(dirname(fileURLToPath(import.meta.url)));
export const resultsDir = join(benchDir, 'results');

/**
 * @param {{ logs: string, backendCpu?: 'loadgen'|'proxy', pin?: boolean }} options logs: the folder under
 *   bench/results for each child's log, emptied first. pin: false runs every process unpinned, on all CPUs
 *   (bench/scale.mjs: two data-path workers need both cores); ctx.pin then says false.
 */
export function openSession({ logs, backendCpu = 'loadgen', pin: allowPin = true }) {
  const tools = detectTools();
  const machine = describeMachine();
  const pin = allowPin && tools.taskset !== null && machine.nproc >= 2;
  const logDir = join(resultsDir, logs);
  rmSync(logDir, { recursive: true, force: true });
  mkdirSync(logDir, { recursive: true });
  const ctx = {
    procs: new ProcessSet({ logDir, pin }),
    tmp: mkdtempSync(join(tmpdir(), 'cutover-bench-')),
    tools,
    machine,
    pin,
    logDir,
    cpu: cpuPlan(backendCpu),
    root: dirname(benchDir),
    benchDir,
    backend: null,
  };
  stopEverythingOnExit(ctx);
  // The bench's own process (autocannon, the switch pollers, the idle clients) runs with the load generator.
  if (pin) pinSelf(tools, ctx.cpu.loadgen);
  return ctx;
}

/** Runs `body(ctx)`; an error becomes one line and exit code 1; every child is stopped either way. */
export async function runSession(ctx, name, body) {
  try {
    await body(ctx);
  } catch (err) {
    console.error(`${name}: ${err.message}`);
    process.exitCode = 1;
  } finally {
    await ctx.procs.stopAll();
    rmSync(ctx.tmp, { recursive: true, force: true });
  }
}

/** Throws once the session is stopping (Ctrl-C), so that the main flow starts no further run. */
export function stopIfStopping(ctx) {
  if (ctx.procs.closing) throw new Error('stopped before the end: no results');
}

/**
 * Ctrl-C or SIGTERM stops every child, then exits; a second one kills them at once. On any exit, whatever is
 * still running is killed: the children run in their own process groups, so nobody else would.
 */
function stopEverythingOnExit({ procs, tmp }) {
  let stopping = false;
  const onSignal = (signal) => {
    if (stopping) return process.exit(130);
    stopping = true;
    console.error(`\nbench: ${signal}, stopping every process it started`);
    procs.stopAll().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', () => {
    procs.killAllNow();
    rmSync(tmp, { recursive: true, force: true });
  });
}
