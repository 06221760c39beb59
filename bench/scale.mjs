#!/usr/bin/env node
// `npm run bench:scale`: how cutover's throughput scales with data-path workers (issue #7, goal 3: report it).
// Starts `cutover serve` once per worker count (`workers: 1`, `workers: 2`, ...), all forwarding to the same
// backend, then puts wrk on each in turn, round after round (w1, w2, w1, w2, ...). Per count: median and best
// req/s, p50/p99, CPU µs per request over all of cutover's processes, the RSS of the primary and of each worker
// at the end of every run, and each count's req/s against `workers: 1`. Nothing is pinned (see pinningText).
// See bench/README.md, "Scaling".
import { join } from 'node:path';
import { EXPECTED_BODY, startBackend } from './lib/backend.mjs';
import { deploy, startCutoverServe } from './lib/cutover.mjs';
import { ForeignCpu } from './lib/foreign-cpu.mjs';
import { httpRequest, sleep } from './lib/http.mjs';
import { chooseLoadGenerator } from './lib/load.mjs';
import { busyShare, cutoverCode, cutoverRevision } from './lib/machine.mjs';
import { readNumberOptionsOrExit } from './lib/options.mjs';
import { groupCpuSeconds, processTree } from './lib/proc-stat.mjs';
import { markdownTable, median, writeJson } from './lib/report.mjs';
import { openSession, resultsDir, runSession, stopIfStopping } from './lib/session.mjs';

const DEFAULTS = Object.freeze({ rounds: 3, duration: 8, connections: 100, threads: 2, workers: Object.freeze([1, 2]) });
/** Each cutover gets this much load first, not counted: the JIT compiles the hot paths of every process. */
const WARMUP_S = 2;
/** Lets sockets of the last run close and GC settle before the next run. */
const BETWEEN_RUNS_MS = 500;
/** A run in which other processes used more than this share of all CPU time is flagged under the tables. */
const DISTURBED_SHARE = 0.05;
/** How a data-path worker is told from other descendants of the primary: node:cluster forks it with this script. */
const WORKER_SCRIPT = /bin\/cutover-worker\.js/;
const USAGE = `usage: npm run bench:scale -- [--rounds ${DEFAULTS.rounds}] [--duration ${DEFAULTS.duration}] [--connections ${DEFAULTS.connections}] [--threads ${DEFAULTS.threads}] [--workers ${DEFAULTS.workers.join(',')}]
  --rounds       rounds; each round runs wrk once on every worker count, in the order given
  --duration     measured seconds per run (with wrk each run lasts 1 s more: the connections' idle first second)
  --connections  wrk's connections
  --threads      wrk's threads (-tN)
  --workers      the worker counts compared, each written into its cutover's config as \`workers: N\`;
                 1 is always measured (added first when missing): every ratio is against it`;

const parsed = readNumberOptionsOrExit('bench:scale', DEFAULTS, USAGE, { lists: ['workers'] });
const options = Object.freeze({ ...parsed, workers: [1, ...parsed.workers.filter((n) => n !== 1)] });
const ctx = openSession({ logs: 'logs-scale', pin: false });
await runSession(ctx, 'bench:scale', measureScaling);

async function measureScaling() {
  const revision = cutoverRevision(ctx.root);
  const code = cutoverCode(ctx.root);
  ctx.machine.busyBeforeStart = await busyShare();
  ctx.backend = await startBackend(ctx, null);
  const loadgen = chooseLoadGenerator(ctx, null, { threads: options.threads });
  printSetup({ revision, code, loadgen });
  const servers = [];
  for (const workers of options.workers) servers.push(await startServer(workers));
  console.log(`\nwarming up each cutover for ${WARMUP_S} s (not counted)`);
  for (const server of servers) {
    stopIfStopping(ctx);
    await loadgen.run(server.url, { duration: WARMUP_S, connections: options.connections }).catch(() => null);
  }
  const runs = await measure(servers, loadgen);
  const rows = summarize(runs);
  printTables(rows, runs, loadgen);
  const file = join(resultsDir, 'scale.json');
  writeJson(file, {
    date: new Date().toISOString(),
    command: ['npm run bench:scale --', ...process.argv.slice(2)].join(' '),
    cutover: revision,
    code,
    machine: ctx.machine,
    options,
    setup: { backend: ctx.backend.description, loadgen: loadgen.description, connections: loadgen.connections, pinning: pinningText(), warmupS: WARMUP_S },
    servers: servers.map(({ workers, url, startedWith }) => ({ workers, url, processes: startedWith })),
    summary: rows,
    runs,
  });
  console.log(`\nresults: ${file}\nlogs:    ${ctx.logDir}/`);
}

/** `cutover serve` with `workers: N`, the backend deployed as live; checks it forwards and runs N workers. */
async function startServer(workers) {
  const name = `cutover-w${workers}`;
  const { child, proxyUrl, adminUrl } = await startCutoverServe(ctx, { name, extraYaml: `workers: ${workers}` });
  await deploy(adminUrl, { version: 'bench', targets: [ctx.backend.url] });
  await checkAnswer(proxyUrl, name);
  const server = { workers, name, url: proxyUrl, child };
  const found = processesOf(server);
  const expected = workers === 1 ? 0 : workers;
  if (found.workers.length !== expected) {
    throw new Error(`${name}: expected ${expected} data-path worker process(es) under its primary, found ${found.workers.length} (${found.tree.map((p) => `${p.pid}: ${p.command}`).join('; ')})`);
  }
  server.startedWith = { primary: found.primary.pid, workers: found.workers.map((p) => p.pid), others: found.others.map((p) => p.command) };
  const others = found.others.length === 0 ? '' : `, and ${found.others.length} other process(es): ${found.others.map((p) => p.command.slice(0, 80)).join('; ')}`;
  console.log(`  started   ${name.padEnd(11)} ${proxyUrl}  ${workers === 1 ? 'one process' : `primary + ${workers} data-path workers`}${others}`);
  return server;
}

async function checkAnswer(url, name) {
  const { status, body } = await httpRequest(`${url}/`);
  if (status !== 200 || body !== EXPECTED_BODY) throw new Error(`${name} answered ${status} "${body.trim().slice(0, 200)}" instead of 200 "${EXPECTED_BODY}"`);
}

/** The primary, its data-path workers and anything else under it (tsx's helpers, when run from the sources). */
function processesOf(server) {
  const tree = processTree(server.child.proc.pid) ?? [];
  const primary = tree[0] ?? { pid: server.child.proc.pid, rssMb: null };
  const isWorker = (p) => p.parent === primary.pid && WORKER_SCRIPT.test(p.command);
  return { tree, primary, workers: tree.filter(isWorker), others: tree.slice(1).filter((p) => !isWorker(p)) };
}

/** Rounds of one run per count, in the order given: a slow drift of the machine touches every count alike. */
async function measure(servers, loadgen) {
  const runs = [];
  const foreign = new ForeignCpu(() => ctx.procs.groups());
  const total = options.rounds * servers.length;
  console.log(`measuring: ${total} runs of ${options.duration} s at ${options.connections} connections\n`);
  for (let round = 1; round <= options.rounds; round++) {
    for (const server of servers) {
      stopIfStopping(ctx);
      runs.push(await measureRun(server, round, loadgen, foreign));
      console.log(`  [${String(runs.length).padStart(2)}/${total}] workers ${server.workers} round ${round}: ${describeRun(runs.at(-1))}`);
      await sleep(BETWEEN_RUNS_MS);
    }
  }
  return runs;
}

/**
 * One wrk run on one cutover. CPU is read for its whole process group (the primary and every worker: node:cluster
 * forks them into it) before and after the run; RSS right after it, per process. A worker that died and was
 * replaced during the run takes its CPU time with it: such a run is failed, not counted.
 */
async function measureRun(server, round, loadgen, foreign) {
  const entry = { workers: server.workers, round, result: null, error: null, cpuS: null, cpuUsPerRequest: null, cores: null, othersCpuS: null, rss: null };
  const cpu = () => groupCpuSeconds(server.child.proc.pid);
  const workerPids = () => processesOf(server).workers.map((p) => p.pid).sort((a, b) => a - b).join(',');
  const before = { cpu: cpu(), others: foreign.snapshot(), pids: workerPids() };
  try {
    await checkAnswer(server.url, server.name);
    entry.result = await loadgen.run(server.url, { duration: options.duration, connections: options.connections });
  } catch (err) {
    entry.error = err.message;
  }
  const after = { cpu: cpu(), others: foreign.snapshot(), pids: workerPids() };
  entry.othersCpuS = ForeignCpu.secondsBetween(before.others, after.others);
  entry.rss = rssNow(server);
  if (before.cpu !== null && after.cpu !== null && entry.result !== null) {
    entry.cpuS = after.cpu - before.cpu;
    entry.cpuUsPerRequest = entry.result.requests > 0 ? (entry.cpuS * 1e6) / entry.result.requests : null;
    entry.cores = entry.cpuS / (entry.result.measuredS ?? options.duration);
  }
  if (before.pids !== after.pids) entry.error = `${entry.error ?? 'run finished, but'}; a data-path worker was replaced during it (pids ${before.pids} then ${after.pids}), its CPU time is lost`;
  if (server.child.hasExited) entry.error = `${entry.error ?? 'run finished, but'}; ${server.name} ${server.child.exitReason} (see its log)`;
  return entry;
}

/** VmRSS now: the primary (the single process with `workers: 1`), each worker, anything else, and their sum. */
function rssNow(server) {
  const { tree, primary, workers, others } = processesOf(server);
  if (tree.length === 0) return null;
  return {
    primaryMb: primary.rssMb,
    workersMb: workers.map((p) => p.rssMb),
    othersMb: others.map((p) => p.rssMb),
    totalMb: tree.reduce((sum, p) => sum + p.rssMb, 0),
  };
}

function describeRun({ result, error, cpuUsPerRequest, cores, othersCpuS, rss }) {
  const others = othersCpuS === null ? '' : `; other processes used ${othersCpuS.toFixed(1)} CPU-s`;
  if (error !== null) return `FAILED: ${error}${others}`;
  const cpu = cpuUsPerRequest === null ? '' : `, CPU ${cpuUsPerRequest.toFixed(1)} µs/req (${cores.toFixed(2)} cores)`;
  const mem = rss === null ? '' : `; RSS ${rss.workersMb.length === 0 ? 'process' : 'primary'} ${mb(rss.primaryMb)}${rss.workersMb.length === 0 ? '' : `, workers ${rss.workersMb.map(mb).join(' / ')}`}`;
  return `${Math.round(result.rps)} req/s, p50 ${result.p50Ms.toFixed(2)} ms, p99 ${result.p99Ms.toFixed(2)} ms${cpu}, errors ${result.errors}${mem}${others}`;
}

/**
 * One row per worker count: medians over its runs that worked; the best run (highest req/s, lowest CPU µs/req)
 * over those without errors, as in the main bench (the noise of a shared machine only ever adds cost); RSS as
 * lowest, median and highest over the runs (each worker's over every worker of every run); req/s against
 * `workers: 1`: median against median, best against best, and round by round.
 */
function summarize(runs) {
  const rows = options.workers.map((workers) => {
    const ok = runs.filter((r) => r.workers === workers && r.error === null && r.result !== null);
    const clean = ok.filter((r) => r.result.errors === 0);
    const best = clean.reduce((a, r) => (a === null || r.result.rps > a.result.rps ? r : a), null);
    const lowestCpu = clean.map((r) => r.cpuUsPerRequest).filter(Number.isFinite);
    const med = (value) => median(ok.map(value).filter(Number.isFinite));
    return {
      workers,
      runs: ok.length,
      failedRuns: runs.filter((r) => r.workers === workers).length - ok.length,
      rps: med((r) => r.result.rps),
      bestRps: best?.result.rps ?? null,
      bestRound: best?.round ?? null,
      p50Ms: med((r) => r.result.p50Ms),
      p99Ms: med((r) => r.result.p99Ms),
      cpuUsPerRequest: med((r) => r.cpuUsPerRequest),
      lowestCpuUsPerRequest: lowestCpu.length === 0 ? null : Math.min(...lowestCpu),
      cores: med((r) => r.cores),
      errors: ok.reduce((sum, r) => sum + r.result.errors, 0),
      rss: {
        primaryMb: spread(ok.map((r) => r.rss?.primaryMb)),
        workerMb: spread(ok.flatMap((r) => r.rss?.workersMb ?? [])),
        totalMb: spread(ok.map((r) => r.rss?.totalMb)),
      },
    };
  });
  const one = rows.find((r) => r.workers === 1);
  const rpsOf = (workers, round) => runs.find((r) => r.workers === workers && r.round === round && r.error === null && r.result !== null)?.result.rps ?? null;
  return rows.map((row) => ({
    ...row,
    rpsVsOne: ratio(row.rps, one.rps),
    bestRpsVsOne: ratio(row.bestRps, one.bestRps),
    roundsVsOne: Array.from({ length: options.rounds }, (_, i) => ratio(rpsOf(row.workers, i + 1), rpsOf(1, i + 1))),
  }));
}

function printTables(rows, runs, loadgen) {
  console.log(`\n## req/s by data-path workers: medians of ${options.rounds} round(s), best run, and against \`workers: 1\`\n`);
  console.log(markdownTable(
    ['workers', 'processes', 'median req/s', 'best req/s', 'p50', 'p99', 'CPU µs/req', 'cutover CPU', 'errors', 'median vs 1', 'best vs 1', 'each round vs 1'],
    rows.map((r) => [
      String(r.workers) + (r.failedRuns > 0 ? ` (${r.failedRuns} run(s) failed)` : ''),
      r.workers === 1 ? '1' : `1 + ${r.workers}`,
      count(r.rps),
      count(r.bestRps),
      ms(r.p50Ms),
      ms(r.p99Ms),
      fixed(r.cpuUsPerRequest, 1),
      r.cores === null ? '–' : `${r.cores.toFixed(2)} cores`,
      String(r.errors),
      fixed(r.rpsVsOne, 2),
      fixed(r.bestRpsVsOne, 2),
      r.roundsVsOne.map((v) => fixed(v, 2)).join(' / '),
    ]),
  ));
  console.log(`\n## RSS at the end of each run (VmRSS from /proc), lowest–highest over the ${options.rounds} round(s)\n`);
  console.log(markdownTable(
    ['workers', 'single process / primary', 'each worker', 'all of cutover\'s processes'],
    rows.map((r) => [String(r.workers), range(r.rss.primaryMb), r.workers === 1 ? '– (no workers)' : range(r.rss.workerMb), range(r.rss.totalMb)]),
  ));
  console.log(`
median and best req/s: requests / measured seconds (wrk's run less its idle first second: ${loadgen.connections.mode} connections), each count's median over its rounds, and its highest over rounds without errors; "best vs 1" is best against best.
p50 and p99 are medians over the rounds. CPU µs/req: utime + stime of every cutover process (the primary and its workers) over the whole wrk run, per request, median over the rounds; "cutover CPU" is that CPU time over the measured seconds, in cores (this machine has ${ctx.machine.nproc}).
Nothing is pinned: ${pinningText()}`);
  const warning = disturbedRuns(runs);
  if (warning !== null) console.log(`\n${warning}`);
}

function printSetup({ revision, code, loadgen }) {
  console.log(`cutover scaling bench, ${new Date().toISOString()}, cutover ${revision}`);
  console.log(`machine:  ${ctx.machine.nproc} CPUs (${ctx.machine.cpuModel}), ${ctx.machine.os}, node ${ctx.machine.node}`);
  console.log(`cutover:  runs ${code.text}; \`workers: ${options.workers.join('`, `workers: ')}\`, each started once`);
  if (!code.build) console.log('          WARNING: not the build; tsx compiles on load, which changes memory and start-up: not figures to keep');
  console.log(`backend:  ${ctx.backend.description} at ${ctx.backend.url}`);
  console.log(`load:     ${loadgen.description}, ${options.connections} connections, ${options.duration} s x ${options.rounds} round(s), each round every count in turn (${options.workers.map((n) => `w${n}`).join(', ')}); ${WARMUP_S} s warm-up each, not counted`);
  console.log(`          ${loadgen.connections.note}`);
  console.log(`pinning:  none, on purpose: ${pinningText()}`);
  const most = Math.max(...options.workers);
  if (most > ctx.machine.nproc) console.log(`          NOTE: \`workers: ${most}\` is more data-path processes than this machine has CPUs (${ctx.machine.nproc})`);
  if (ctx.machine.busyBeforeStart !== null) console.log(`busy:     ${Math.round(ctx.machine.busyBeforeStart * 100)}% of the CPUs were busy in the second before the start`);
  console.log('');
}

function pinningText() {
  return `\`workers: ${Math.max(...options.workers)}\` needs every core (${ctx.machine.nproc} here), so no core is kept for cutover alone; wrk (${options.threads} thread(s)) and the backend run on the same cores and take CPU from it. The ratios are a floor of how cutover scales, not what its workers give with the load generator on other cores.`;
}

/** Runs during which processes the bench did not start took a noticeable share of the machine. */
function disturbedRuns(runs) {
  const limit = DISTURBED_SHARE * options.duration * ctx.machine.nproc;
  const disturbed = runs.filter((r) => r.othersCpuS !== null && r.othersCpuS > limit);
  if (disturbed.length === 0) return null;
  const list = disturbed.map((r) => `workers ${r.workers} round ${r.round} (${r.othersCpuS.toFixed(1)})`).join(', ');
  return `WARNING: other processes used more than ${limit.toFixed(1)} of the ${options.duration * ctx.machine.nproc} CPU-seconds in ${disturbed.length} run(s): ${list}. Compare these figures with care, or run again on a quiet machine.`;
}

function spread(values) {
  const numbers = values.filter(Number.isFinite);
  if (numbers.length === 0) return null;
  return { min: Math.min(...numbers), median: median(numbers), max: Math.max(...numbers) };
}

function ratio(value, reference) {
  return value === null || reference === null || reference === 0 ? null : value / reference;
}

function range(s) {
  if (s === null) return '–';
  return Math.round(s.min) === Math.round(s.max) ? mb(s.min) : `${Math.round(s.min)}–${mb(s.max)}`;
}

function mb(value) {
  return value === null || value === undefined ? '–' : `${Math.round(value)} MB`;
}

function count(value) {
  return value === null ? '–' : Math.round(value).toLocaleString('en-US');
}

function ms(value) {
  return value === null ? '–' : `${value.toFixed(2)} ms`;
}

function fixed(value, digits) {
  return value === null ? '–' : value.toFixed(digits);
}
