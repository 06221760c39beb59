#!/usr/bin/env node
// `npm run bench:memory`: cutover's memory and idle connections (issue #7, goal 4). Puts wrk -c50 on cutover
// alone, then holds 10,000 keep-alive client connections, each with one request answered, and puts wrk -c50 on
// top of them. Reports cutover's RSS (its process and every child: data-path workers too) at each step, and
// checks that every idle connection is still open and answers once more at the end. See bench/README.md.
import { spawnSync } from 'node:child_process';
import { startBackend } from './lib/backend.mjs';
import { deploy, startCutoverServe } from './lib/cutover.mjs';
import { IdleConnections } from './lib/idle-connections.mjs';
import { chooseLoadGenerator } from './lib/load.mjs';
import { cutoverRevision, findExecutable } from './lib/machine.mjs';
import { readNumberOptionsOrExit } from './lib/options.mjs';
import { treeRss } from './lib/proc-stat.mjs';
import { markdownTable, writeJson } from './lib/report.mjs';
import { openSession, resultsDir, runSession } from './lib/session.mjs';

const DEFAULTS = Object.freeze({ idle: 10_000, duration: 10, connections: 50, workers: 1 });
/** Open files wanted for the bench and for cutover: each idle connection is one socket on both sides. */
const OPEN_FILES = 65_536;
/** RSS is read this often during the load; the table shows the highest reading. */
const SAMPLE_MS = 250;
const USAGE = `usage: npm run bench:memory -- [--idle ${DEFAULTS.idle}] [--duration ${DEFAULTS.duration}] [--connections ${DEFAULTS.connections}] [--workers ${DEFAULTS.workers}]
  --idle         keep-alive client connections held open, each after one answered request
  --duration     seconds of wrk load on top of them
  --connections  wrk's connections
  --workers      written into cutover's config as \`workers: N\``;

const options = readNumberOptionsOrExit('bench:memory', DEFAULTS, USAGE);
raiseOwnOpenFiles();
const ctx = openSession({ logs: 'logs-memory' });
await runSession(ctx, 'bench:memory', measureMemory);

async function measureMemory() {
  const revision = cutoverRevision(ctx.root);
  console.log(`cutover memory bench, ${new Date().toISOString()}, cutover ${revision}`);
  console.log(`${options.idle} idle connections, then wrk -c${options.connections} for ${options.duration} s; workers: ${options.workers}\n`);
  ctx.backend = await startBackend(ctx, null);
  const cutover = await startCutoverServe(ctx, { extraYaml: cutoverLimits(), prefix: openFilesPrefix() });
  await deploy(cutover.adminUrl, { version: 'bench', targets: [ctx.backend.url] });
  const rss = () => treeRss(cutover.child.proc.pid);
  const phases = [{ phase: 'idle, no client connection', rss: rss(), open: 0 }];
  // Goal 4 has two parts: RSS under load (first, alone), and idle connections held (then, with load on top).
  const loadAlone = await underLoad(cutover.proxyUrl, rss);
  phases.push({ phase: `wrk -c${options.connections} alone: ${describeLoad(loadAlone.result)} (highest RSS)`, rss: loadAlone.peak, open: 0 });
  const idle = new IdleConnections(cutover.proxyUrl);
  try {
    const openStart = performance.now();
    await idle.openMany(options.idle);
    const openS = (performance.now() - openStart) / 1000;
    phases.push({ phase: `${idle.open} idle connections (opened in ${openS.toFixed(1)} s)`, rss: rss(), open: idle.open });
    const load = await underLoad(cutover.proxyUrl, rss);
    phases.push({ phase: `+ wrk -c${options.connections}: ${describeLoad(load.result)} (highest RSS)`, rss: load.peak, open: idle.open });
    phases.push({ phase: 'after the load', rss: rss(), open: idle.open });
    const answered = await idle.askAll();
    report({ phases, idle, answered, loads: [loadAlone.result, load.result], revision });
  } finally {
    idle.closeAll();
  }
}

/**
 * wrk on top of the idle connections, with cutover's RSS read every SAMPLE_MS: the reading with the highest sum.
 * Cold connections (wrk opening its 50 while measured, as before bench/lib/warm-connections.lua existed): this
 * bench reports RSS and req/s, no latency, so the accept queue's first requests do not distort it; the RSS is
 * sampled over exactly wrk's run; and its figures stay comparable with the earlier ones.
 */
async function underLoad(url, rss) {
  let peak = rss();
  const sampler = setInterval(() => {
    const now = rss();
    if (now !== null && (peak === null || now.mb > peak.mb)) peak = now;
  }, SAMPLE_MS);
  try {
    const result = await chooseLoadGenerator(ctx, null, { coldConnections: true }).run(url, { duration: options.duration, connections: options.connections });
    return { result, peak };
  } finally {
    clearInterval(sampler);
  }
}

function describeLoad({ rps, errors }) {
  return `${Math.round(rps)} req/s, ${errors} errors`;
}

function report({ phases, idle, answered, loads, revision }) {
  const mb = (value) => (value === undefined ? '–' : `${value.toFixed(0)} MB`);
  console.log(markdownTable(['phase', 'cutover RSS (all processes)', 'largest process', 'processes', 'idle connections open'],
    phases.map((p) => [p.phase, mb(p.rss?.mb), mb(p.rss?.largestMb), String(p.rss?.processes ?? '–'), String(p.open)])));
  const failures = [...idle.failures].map(([why, n]) => `${why}: ${n}`).join(', ');
  console.log(`\nidle connections failed: ${idle.failed}${failures === '' ? '' : ` (${failures})`}`);
  console.log(`idle connections that answered one more request at the end: ${answered} of ${options.idle}`);
  const file = `${resultsDir}/memory.json`;
  writeJson(file, { date: new Date().toISOString(), command: ['npm run bench:memory --', ...process.argv.slice(2)].join(' '), cutover: revision, machine: ctx.machine, options, phases, idleFailures: Object.fromEntries(idle.failures), answeredAtEnd: answered, loads });
  console.log(`\nresults: ${file}\nlogs:    ${ctx.logDir}/`);
}

/** cutover's own limits (README: limits.maxConnections defaults to 10,000; idle keep-alive closes after 60 s). */
function cutoverLimits() {
  return `workers: ${options.workers}
limits: { maxConnections: ${options.idle * 2 + options.connections} }
timeouts: { keepAlive: 10m }`;
}

/**
 * cutover is started through prlimit, which sets its open-file limit and execs it (the pid stays cutover's). The
 * soft limit is raised as far as the hard limit allows: raising the hard limit needs CAP_SYS_RESOURCE, which even
 * root may lack in a container.
 */
function openFilesPrefix() {
  const prlimit = findExecutable('prlimit');
  return prlimit === null ? [] : [prlimit, `--nofile=${openFilesLimit()}`];
}

/** The bench holds the client side of every idle connection, so it needs about as many open files as cutover. */
function raiseOwnOpenFiles() {
  const prlimit = findExecutable('prlimit');
  const limit = prlimit === null ? null : openFilesLimit();
  const out = prlimit === null ? null : spawnSync(prlimit, ['--pid', String(process.pid), `--nofile=${limit}`], { encoding: 'utf8' });
  const needed = options.idle + options.connections + 100;
  if (out === null || out.status !== 0 || Number(limit.split(':')[0]) < needed) {
    console.log(`note: the open-file limit is ${limit ?? 'unknown'} (${out?.stderr?.trim() || 'prlimit not found'}); ${options.idle} connections need about ${needed}, so some may fail with EMFILE`);
  }
}

/** "SOFT:HARD" for prlimit: OPEN_FILES, or the current hard limit when that is lower. */
function openFilesLimit() {
  const out = spawnSync('sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).stdout.trim();
  const hard = out === 'unlimited' ? Infinity : Number(out) || OPEN_FILES;
  const limit = Math.min(OPEN_FILES, hard);
  return `${limit}:${limit}`;
}
