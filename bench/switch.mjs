#!/usr/bin/env node
// `npm run bench:switch`: how long a switch takes (issue #7, goal 5). Two backends answer "blue" and "green";
// cutover serves blue live and green deployed with no switch; a few keep-alive clients poll the proxy while the
// bench flips between them (switch, rollback, switch, ...) and times, per flip, from sending the admin request to
// (a) the earliest arrival of a polling request at the new environment's backend, (b) the first response from it
// back at the poller and (c) the admin request's own response. See bench/README.md.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startNodeServer } from './lib/backend.mjs';
import { deploy, startCutoverServe } from './lib/cutover.mjs';
import { httpRequest, sleep } from './lib/http.mjs';
import { cutoverRevision } from './lib/machine.mjs';
import { readNumberOptionsOrExit } from './lib/options.mjs';
import { Polling } from './lib/polling.mjs';
import { treeRss } from './lib/proc-stat.mjs';
import { markdownTable, quantile, writeJson } from './lib/report.mjs';
import { openSession, resultsDir, runSession, stopIfStopping } from './lib/session.mjs';

const DEFAULTS = Object.freeze({ flips: 50, pollers: 8, every: 2, gap: 1, workers: 1, deploys: 0 });
/** A flip whose new environment has not answered after this long is recorded as not seen, and the bench moves on. */
const FLIP_TIMEOUT_MS = 5_000;
/** Between flips: lets the drain of the previous one start, so flips do not pile up on each other. */
const BETWEEN_FLIPS_MS = 100;
const USAGE = `usage: npm run bench:switch -- [--flips ${DEFAULTS.flips}] [--pollers ${DEFAULTS.pollers}] [--every ${DEFAULTS.every}] [--gap ${DEFAULTS.gap}] [--workers ${DEFAULTS.workers}] [--deploys 0|1]
  --flips    switches back and forth (switch, rollback, switch, ...)
  --deploys  1: every flip is a new deployment's switch instead (deploy a new version to the idle environment
             with no switch, wait until it is ready, then time \`cutover switch\`); 0: manual flips
  --pollers  keep-alive clients requesting through the proxy during the flips
  --every    paced: each poller sends one request every this many ms on its own schedule, the pollers'
             schedules spread over that period, whether or not the others are answered (default: ${DEFAULTS.pollers} pollers every
             ${DEFAULTS.every} ms, about ${Math.round((DEFAULTS.pollers * 1000) / DEFAULTS.every)} requests/s); 0 = closed loop, see --gap
  --gap      closed loop (--every 0): ms each poller waits after each answer; 0 = back to back (four pollers
             back to back and the two Node backends filled the bench's CPU, and the bench's own turns added
             milliseconds to what it timed)
  --workers  written into cutover's config as \`workers: N\` (data-path processes)
BENCH_SWITCH_TRACE=1 also times each flip inside cutover (bench/lib/switch-trace.mjs; with --workers 1 only)`;

const options = readNumberOptionsOrExit('bench:switch', DEFAULTS, USAGE, { mayBeZero: ['gap', 'every', 'deploys'] });
const openLoop = options.every > 0;
const deploying = options.deploys > 0;
/** BENCH_SWITCH_TRACE=1: also time each flip inside cutover (bench/lib/switch-trace.mjs); one process only. */
const tracing = process.env.BENCH_SWITCH_TRACE === '1' && options.workers === 1;
const ctx = openSession({ logs: 'logs-switch' });
await runSession(ctx, 'bench:switch', measureSwitches);

async function measureSwitches() {
  const revision = cutoverRevision(ctx.root);
  console.log(`cutover switch bench, ${new Date().toISOString()}, cutover ${revision}`);
  console.log(`${options.flips} flips (${deploying ? 'each a new deployment\'s switch' : 'switch, rollback, switch, ...'}), ${options.pollers} pollers ${pollingMode()}, workers: ${options.workers}; cutover on CPU ${ctx.cpu.proxy}, backends and pollers on CPU ${ctx.cpu.loadgen}${ctx.pin ? '' : ' (not pinned)'}\n`);
  if (process.env.BENCH_SWITCH_TRACE === '1' && !tracing) console.log('BENCH_SWITCH_TRACE=1: not traced: the trace needs --workers 1 (the admin API and the data path in one process)\n');
  const blue = await startNodeServer(ctx, 'blue', 'blue', { arrivalHeader: true });
  const green = await startNodeServer(ctx, 'green', 'green', { arrivalHeader: true });
  const cutover = await startCutoverOrExplain();
  if (cutover === null) return;
  const processes = treeRss(cutover.child.proc.pid)?.processes ?? null;
  console.log(`cutover runs as ${processes ?? '?'} process(es)`);
  await deploy(cutover.adminUrl, { version: 'blue', targets: [blue.url] });
  await deploy(cutover.adminUrl, { version: 'green', targets: [green.url], switchNow: false });
  const polling = new Polling(cutover.proxyUrl, options.pollers, openLoop ? { everyMs: options.every } : { gapMs: options.gap });
  const flips = [];
  try {
    await polling.started;
    for (let i = 0; i < options.flips; i++) {
      stopIfStopping(ctx);
      const to = i % 2 === 0 ? 'green' : 'blue';
      // The first flip is green's deployment's own switch; with --deploys each later one is a new deployment's too.
      if (deploying && i > 0) await deploy(cutover.adminUrl, { version: `${to}-${i}`, targets: [(to === 'green' ? green : blue).url], switchNow: false });
      flips.push(await flip(cutover.adminUrl, polling, deploying || i % 2 === 0 ? 'switch' : 'rollback', to));
      await sleep(BETWEEN_FLIPS_MS);
    }
  } finally {
    await polling.stop();
  }
  report(flips, polling, revision);
}

/**
 * One flip, timed from the bench's side: the pollers mark the first response from `expected` and the earliest
 * arrival of a request at its backend (bench/lib/polling.mjs, `watchFor`).
 */
async function flip(adminUrl, polling, action, expected) {
  const watch = polling.watchFor(expected);
  const sentNs = process.hrtime.bigint();
  const sentAt = performance.now();
  const answer = await httpRequest(`${adminUrl}/api/apps/web/${action}`, { method: 'POST', json: {} });
  const answeredMs = performance.now() - sentAt;
  if (answer.status !== 200) throw new Error(`${action} answered ${answer.status}: ${answer.body.trim().slice(0, 300)}`);
  polling.staleAfter(expected, performance.now());
  const seen = await watch.seen(FLIP_TIMEOUT_MS);
  // Routed: the earliest arrival of a polling request at the new environment's backend, on the clock all
  // processes share; firstAnsweredRoutedMs: the arrival of the request answered first (kept for comparison).
  const sinceSent = (ns) => (ns == null ? null : Number(ns - sentNs) / 1e6);
  return {
    action,
    to: expected,
    answeredMs,
    routedMs: sinceSent(seen?.arrivedNs),
    firstAnsweredRoutedMs: sinceSent(seen?.firstAnsweredArrivedNs),
    firstResponseMs: seen === null ? null : seen.at - sentAt,
  };
}

function pollingMode() {
  if (openLoop) return `each sending every ${options.every} ms on its own schedule (paced)`;
  return `each ${options.gap === 0 ? 'back to back' : `waiting ${options.gap} ms after each answer`} (closed loop)`;
}

/** Starts cutover with `workers: N`; null (and a message, exit 0) when this cutover does not know that key. */
async function startCutoverOrExplain() {
  try {
    const trace = tracing ? { nodeArgs: ['--import', join(ctx.root, 'bench', 'lib', 'switch-trace.mjs')], env: { BENCH_SWITCH_TRACE_FILE: traceFile() } } : {};
    return await startCutoverServe(ctx, { extraYaml: `workers: ${options.workers}`, ...trace });
  } catch (err) {
    if (!/workers/.test(err.message)) throw err;
    console.log(`SKIPPED: this cutover does not accept \`workers: ${options.workers}\` in its config:\n    ${err.message.split('\n').slice(-3).join('\n    ')}`);
    return null;
  }
}

function report(flips, polling, revision) {
  const seen = flips.filter((f) => f.firstResponseMs !== null);
  const row = (name, values) => [name, ...[0.5, 0.99, 1].map((q) => (values.length === 0 ? '–' : `${quantile(values, q).toFixed(2)} ms`))];
  console.log(`${flips.length} flips; each time from sending the switch or rollback request:\n`);
  console.log(markdownTable(['time to', 'p50', 'p99', 'max'], [
    row('first request routed to the new env (earliest arrival at its backend)', routed(seen)),
    row('… of the switches', routed(seen.filter((f) => f.action === 'switch'))),
    row('… of the rollbacks', routed(seen.filter((f) => f.action === 'rollback'))),
    row('first response from the new env (back at the poller)', seen.map((f) => f.firstResponseMs)),
    row('the switch request\'s own response', flips.map((f) => f.answeredMs)),
  ]));
  const earlier = seen.filter((f) => f.routedMs !== null && f.firstAnsweredRoutedMs !== null && f.routedMs < f.firstAnsweredRoutedMs);
  const byUpTo = earlier.length === 0 ? '' : ` (up to ${Math.max(...earlier.map((f) => f.firstAnsweredRoutedMs - f.routedMs)).toFixed(2)} ms sooner)`;
  console.log(`\nanother request reached the new env before the one answered first in ${earlier.length} of ${seen.length} flip(s)${byUpTo}`);
  console.log(`new env never seen within ${FLIP_TIMEOUT_MS} ms: ${flips.length - seen.length} flip(s)`);
  console.log(`requests through the proxy during the flips: ${polling.responses}, failed: ${polling.failures.length}${summarizeFailures(polling.failures)}`);
  console.log(`stale responses (old env, to a request sent after the switch had answered): ${polling.stale}`);
  if (openLoop) console.log(`poller turns sent late (the previous answer not back yet): ${polling.late}`);
  const inside = tracing ? reportTrace(row) : null;
  const file = `${resultsDir}/switch.json`;
  writeJson(file, { date: new Date().toISOString(), command: ['npm run bench:switch --', ...process.argv.slice(2)].join(' '), cutover: revision, machine: ctx.machine, options, polling: pollingMode(), requests: polling.responses, failures: polling.failures.length, stale: polling.stale, late: openLoop ? polling.late : null, flips, inside });
  console.log(`\nresults: ${file}\nlogs:    ${ctx.logDir}/`);
}

function routed(flips) {
  return flips.filter((f) => f.routedMs !== null).map((f) => f.routedMs);
}

function traceFile() {
  return join(ctx.tmp, 'switch-trace.jsonl');
}

/** The flips as bench/lib/switch-trace.mjs timed them inside cutover: a table, and the lines for the JSON. */
function reportTrace(row) {
  const lines = existsSync(traceFile()) ? readFileSync(traceFile(), 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)) : [];
  const of = (key) => lines.map((l) => l[key]).filter((v) => typeof v === 'number');
  console.log(`\ninside cutover (BENCH_SWITCH_TRACE=1), ${lines.length} flip(s), from the admin request's arrival:\n`);
  console.log(markdownTable(['time to', 'p50', 'p99', 'max'], [
    row('the new route table applied', of('applied')),
    row('the admin request answered', of('answered')),
    row('the first data request read', of('read')),
    row('the first request handed to the new env\'s pool', of('dispatched')),
    row('that request written upstream', of('written')),
  ]));
  console.log(`\non a connection never used before: ${lines.filter((l) => l.fresh).length} of ${lines.length}`);
  return lines;
}

function summarizeFailures(failures) {
  if (failures.length === 0) return '';
  const counts = new Map();
  for (const f of failures) counts.set(f, (counts.get(f) ?? 0) + 1);
  return ` (${[...counts].map(([what, n]) => `${what}: ${n}`).join(', ')})`;
}
