#!/usr/bin/env node
// `npm run bench`: cutover's data path against a bare undici forwarder, http-proxy, nginx and HAProxy, all
// forwarding to one tiny backend, on this machine, in one run. See bench/README.md for how to read it.
import { join } from 'node:path';
import { EXPECTED_BODY, startBackend } from './lib/backend.mjs';
import { CONTENDERS, DEFAULT_CONTENDERS } from './lib/contenders.mjs';
import { ForeignCpu } from './lib/foreign-cpu.mjs';
import { httpRequest, sleep } from './lib/http.mjs';
import { chooseLoadGenerator } from './lib/load.mjs';
import { busyShare, cutoverCode, cutoverRevision } from './lib/machine.mjs';
import { OptionsError, readOptions, USAGE } from './lib/options.mjs';
import { groupCpuSeconds } from './lib/proc-stat.mjs';
import { formatBestTable, formatDistribution, formatPairedTable, formatTable, pairedWithBare, summarize, writeJson } from './lib/report.mjs';
import { openSession, resultsDir, runSession, stopIfStopping } from './lib/session.mjs';

/** Lets sockets of the last run close and GC settle before the next contender's turn. */
const BETWEEN_RUNS_MS = 500;
/** Above this share of busy CPU before the start, the run is flagged as taken on a busy machine. */
const BUSY_WARNING = 0.1;
/** A run in which other processes used more than this share of all CPU time is flagged under the table. */
const DISTURBED_SHARE = 0.05;
/** A proxy that used less of its core than this under closed-loop load was held back: flagged under the table. */
const STARVED_BUSY = 0.85;

const options = parseOptionsOrExit();
const contenders = selectedContendersOrExit();
const ctx = openSession({ logs: 'logs', backendCpu: options.backendCpu });
const { tools, machine, pin } = ctx;
const revision = cutoverRevision(ctx.root);
await runSession(ctx, 'bench', bench);

async function bench() {
  machine.busyBeforeStart = await busyShare();
  ctx.backend = await startBackend(ctx, options.backend);
  const loadgen = chooseLoadGenerator(ctx, options.loadgen, { threads: options.threads, coldConnections: options.coldConnections });
  printSetup(loadgen);
  const { started, skipped } = await startContenders();
  if (started.length === 0) throw new Error('no contender could be started');
  const runs = [];
  const summaries = [];
  for (const connections of options.connections) {
    await warmUp(started, loadgen, connections);
    const mine = await measure(started, loadgen, connections);
    runs.push(...mine);
    const names = started.map((c) => c.name);
    summaries.push({ connections, rows: summarize(mine, names), paired: pairedWithBare(mine, names) });
  }
  for (const { connections, rows, paired } of summaries) printTables(connections, rows, paired, loadgen);
  for (const warning of [disturbedRuns(runs), starvedRuns(runs)]) if (warning !== null) console.log(`\n${warning}`);
  const file = join(resultsDir, 'latest.json');
  writeJson(file, report({ loadgen, started, skipped, runs, summaries }));
  console.log(`\nresults: ${file}\nlogs:    ${ctx.logDir}/`);
}

/** Starts each contender and checks it really forwards; one that fails is skipped, with the reason shown. */
async function startContenders() {
  const started = [];
  const skipped = [];
  for (const contender of contenders) {
    if (contender.needs !== undefined && tools[contender.needs] === null) {
      skipped.push({ name: contender.name, reason: `${contender.needs} is not installed` });
      continue;
    }
    try {
      const { url, child } = await contender.start(ctx);
      await checkAnswer(url);
      started.push({ name: contender.name, what: contender.what, url, child });
      console.log(`  started   ${contender.name.padEnd(12)} ${url}  ${contender.what}`);
    } catch (err) {
      skipped.push({ name: contender.name, reason: err.message });
    }
  }
  for (const s of skipped) console.log(`  SKIPPED   ${s.name.padEnd(12)} ${s.reason}`);
  return { started, skipped };
}

function selectedContendersOrExit() {
  if (options.only === null) return DEFAULT_CONTENDERS;
  const unknown = options.only.filter((name) => !CONTENDERS.some((c) => c.name === name));
  if (unknown.length === 0) return CONTENDERS.filter((c) => options.only.includes(c.name));
  console.error(`bench: --only: no contender named ${unknown.join(', ')} (there are ${CONTENDERS.map((c) => c.name).join(', ')})`);
  process.exit(2);
}

async function checkAnswer(url) {
  const { status, body } = await httpRequest(`${url}/`);
  if (status !== 200 || body !== EXPECTED_BODY) throw new Error(`answered ${status} "${body.trim().slice(0, 200)}" instead of 200 "${EXPECTED_BODY}"`);
}

/**
 * Node contenders need their hot paths compiled by the JIT before they are measured; the others don't mind. The
 * warm-up uses the same connection mode as the runs (warm: its wrk lasts 1 s more, the first one idle).
 */
async function warmUp(started, loadgen, connections) {
  console.log(`\nwarming up each contender for ${options.warmup} s at ${connections} connections`);
  for (const c of started) {
    stopIfStopping(ctx);
    await loadgen.run(c.url, { duration: options.warmup, connections }).catch(() => null);
  }
}

/** Runs A, B, C, A, B, C, ...: a slow drift of the machine then touches every contender alike. */
async function measure(started, loadgen, connections) {
  const runs = [];
  const foreign = new ForeignCpu(() => ctx.procs.groups());
  const total = options.runs * started.length;
  console.log(`measuring: ${total} runs of ${options.duration} s at ${connections} connections\n`);
  for (let run = 1; run <= options.runs; run++) {
    for (const c of started) {
      stopIfStopping(ctx);
      const entry = { contender: c.name, connections, run, result: null, error: null, othersCpuS: null, proxyCpuS: null };
      const proxyCpu = () => (c.child === null ? null : groupCpuSeconds(c.child.proc.pid));
      const before = { others: foreign.snapshot(), proxy: proxyCpu() };
      try {
        await checkAnswer(c.url);
        entry.result = await loadgen.run(c.url, { duration: options.duration, connections });
      } catch (err) {
        entry.error = err.message;
      }
      entry.othersCpuS = ForeignCpu.secondsBetween(before.others, foreign.snapshot());
      recordProxyCpu(entry, before.proxy, proxyCpu());
      if (c.child?.hasExited) entry.error = `${entry.error ?? 'run finished, but'}; the ${c.name} process ${c.child.exitReason} (see its log)`;
      runs.push(entry);
      console.log(`  [${String(runs.length).padStart(2)}/${total}] ${c.name.padEnd(12)} run ${run}: ${describeRun(entry)}`);
      await sleep(BETWEEN_RUNS_MS);
    }
  }
  return runs;
}

/**
 * The proxy's own CPU time per request: far steadier than req/s on a shared machine, because another
 * process taking CPU 1 away slows the proxy down but does not make each request cost as much more. And how
 * busy the proxy was: under wrk's closed loop a proxy that has its core to itself uses all of it. Both read the
 * CPU over the whole wrk run; with warm connections that includes the idle first second, in which the proxy
 * only accepts the connections: busy is over the run's measured time, which is what it worked in. That is wrk's
 * run less the idle second (`measuredS`, from wrk's exact figures: a run lasts a little longer than asked), or
 * `--duration` when the load generator does not report it (autocannon).
 */
function recordProxyCpu(entry, before, after) {
  if (before === null || after === null || entry.result === null) return;
  entry.proxyCpuS = after - before;
  entry.result.proxyBusy = entry.proxyCpuS / (entry.result.measuredS ?? options.duration);
  entry.result.cpuUsPerRequest = entry.result.requests > 0 ? (entry.proxyCpuS * 1e6) / entry.result.requests : null;
}

function printTables(connections, rows, paired, loadgen) {
  console.log(`\n## ${connections} connections: medians of ${options.runs} run(s) each; errors are summed over all runs\n`);
  console.log(formatTable(rows));
  console.log(`\n### ${connections} connections: best run of ${options.runs}: highest req/s and lowest CPU µs/req, each over the contender's runs without errors, so they may come from different runs ("run": the same run, or req/s's / CPU's); p99 is that of the highest-req/s run; ratios are best against best, lowest against lowest\n`);
  console.log(formatBestTable(rows, options.runs));
  if (paired.length > 0) {
    console.log(`\n### ${connections} connections: run by run against bare-undici (run N of each, taken in the same round): median (lowest–highest) of the pairs' ratios\n`);
    console.log(formatPairedTable(paired));
  }
  console.log(`\n${loadgen.connections.note}`);
  console.log(`\nlatency distribution at ${connections} connections (${loadgen.kind}, ${loadgen.connections.mode} connections):\n`);
  console.log(formatDistribution(rows));
}

/**
 * One run in a line. "proxy busy N %" is the proxy's CPU time over the run's measured time: near 100 % it was
 * saturated and its latency is mostly its own queueing; well below, something else was the limit.
 */
function describeRun({ result, error, othersCpuS }) {
  const others = othersCpuS === null ? '' : `; other processes used ${othersCpuS.toFixed(1)} CPU-s`;
  if (result === null) return `FAILED: ${error}${others}`;
  const { rps, p50Ms, p99Ms, errors, non2xx, cpuUsPerRequest, proxyBusy } = result;
  const cpu = cpuUsPerRequest === undefined || cpuUsPerRequest === null ? '' : `, CPU ${cpuUsPerRequest.toFixed(1)} µs/req, proxy busy ${Math.round(proxyBusy * 100)} %`;
  return `${Math.round(rps)} req/s, p50 ${p50Ms.toFixed(2)} ms, p99 ${p99Ms.toFixed(2)} ms${cpu}, errors ${errors} (non-2xx ${non2xx})${others}`;
}

/**
 * Runs in which the proxy used well under its core: it was runnable but did not get the CPU (other processes on
 * CPU 1), or the load generator on CPU 0 was held back. Its latency then measures the machine, not the proxy.
 */
function starvedRuns(runs) {
  const starved = runs.filter((r) => r.result?.proxyBusy !== undefined && r.result.proxyBusy < STARVED_BUSY);
  if (starved.length === 0) return null;
  const list = starved.map((r) => `${r.contender} c${r.connections} run ${r.run} (${Math.round(r.result.proxyBusy * 100)} %)`).join(', ');
  return `WARNING: the proxy was busy less than ${STARVED_BUSY * 100} % of the run in ${starved.length} run(s): ${list}. It was held back, so these runs' latency and req/s say more about the machine than about the proxy.`;
}

/** Runs during which processes the bench did not start took a noticeable share of the machine. */
function disturbedRuns(runs) {
  const limit = DISTURBED_SHARE * options.duration * machine.nproc;
  const disturbed = runs.filter((r) => r.othersCpuS !== null && r.othersCpuS > limit);
  if (disturbed.length === 0) return null;
  const list = disturbed.map((r) => `${r.contender} c${r.connections} run ${r.run} (${r.othersCpuS.toFixed(1)})`).join(', ');
  return `WARNING: other processes used more than ${limit.toFixed(1)} of the ${options.duration * machine.nproc} CPU-seconds in ${disturbed.length} run(s): ${list}. Compare these figures with care, or run again on a quiet machine.`;
}

function printSetup(loadgen) {
  console.log(`cutover bench, ${new Date().toISOString()}, cutover ${revision}, running ${cutoverCode(ctx.root).text}`);
  console.log(`machine:  ${machine.nproc} CPUs (${machine.cpuModel}), ${machine.os}, node ${machine.node}`);
  console.log(`backend:  ${ctx.backend.description} at ${ctx.backend.url}`);
  console.log(`load:     ${loadgen.description}, ${options.connections.join(' then ')} connections, ${options.duration} s x ${options.runs} run(s) per contender, interleaved${options.quick ? ' (--quick: a smoke test, not figures)' : ''}`);
  console.log(`          ${loadgen.connections.note}`);
  console.log(`pinning:  ${pinningText()}`);
  if (machine.busyBeforeStart !== null) console.log(`busy:     ${busyText(machine.busyBeforeStart)}`);
  console.log('');
}

function pinningText() {
  if (pin && ctx.cpu.backend === ctx.cpu.proxy) return `taskset: load generator alone on CPU ${ctx.cpu.loadgen}, the proxy under test and the backend on CPU ${ctx.cpu.proxy}`;
  if (pin) return `taskset: load generator and backend on CPU ${ctx.cpu.loadgen}, the proxy under test alone on CPU ${ctx.cpu.proxy}`;
  if (tools.taskset === null) return 'none (taskset is not installed): figures are noisier';
  return `none (only ${machine.nproc} CPU): load generator, backend and proxy share it`;
}

function busyText(share) {
  const percent = `${Math.round(share * 100)}% of the CPUs were busy in the second before the bench started`;
  if (share < BUSY_WARNING) return percent;
  return `${percent}: other processes are running, expect noisy figures (see "A quiet machine" in bench/README.md)`;
}

function report({ loadgen, started, skipped, runs, summaries }) {
  return {
    date: new Date().toISOString(),
    command: ['npm run bench', ...process.argv.slice(2)].join(' '),
    cutover: revision,
    machine,
    options,
    setup: {
      backend: ctx.backend.description,
      loadgen: loadgen.description,
      connections: loadgen.connections,
      pinning: pinningText(),
      tools: Object.fromEntries(Object.entries(tools).map(([k, v]) => [k, v?.version ?? null])),
    },
    contenders: started.map(({ name, what }) => ({ name, what })),
    skipped,
    summary: summaries,
    runs,
  };
}

function parseOptionsOrExit() {
  try {
    const parsed = readOptions();
    if (!parsed.help) return parsed;
    console.log(USAGE);
    process.exit(0);
  } catch (err) {
    if (!(err instanceof OptionsError)) throw err;
    console.error(`bench: ${err.message}\n${USAGE}`);
    process.exit(2);
  }
}
