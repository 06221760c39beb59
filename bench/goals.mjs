#!/usr/bin/env node
// `npm run bench:goals`: issue #7's five goals measured in one go, each by the bench script that measures it, one
// after another (each needs the machine to itself), then one table: the goal, its target, what was measured, met
// or not. Every step's output and JSON are kept under bench/results/goals/. See bench/README.md, "All five goals".
import { spawn } from 'node:child_process';
import { copyFileSync, createWriteStream, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { cutoverRevision } from './lib/machine.mjs';
import { markdownTable, median, quantile, writeJson } from './lib/report.mjs';
import { benchDir, resultsDir } from './lib/session.mjs';

const USAGE = `usage: npm run bench:goals [-- --quick]
  runs, one after another (about 9 minutes; --quick: about 4, a smoke test, not for figures):
    goal 1  npm run bench -- --only bare-undici,http-proxy,cutover --connections 50 --runs 6 --duration 5
            npm run bench:pair -- --pair bare-undici,cutover, and the same with http-proxy,cutover
    goal 2  npm run bench -- --only bare-undici,cutover --connections 200 --runs 3 --duration 20
    goal 3  npm run bench:scale
    goal 4  npm run bench:memory
    goal 5  npm run bench:switch -- --deploys 1 --flips 20, then the same with --workers 2`;

const quick = process.argv.includes('--quick');
if (process.argv.slice(2).some((a) => a !== '--quick')) {
  console.error(USAGE);
  process.exit(process.argv.includes('--help') || process.argv.includes('-h') ? 0 : 2);
}

/** One bench script's run: `pick` reads its JSON into what `judge` needs. */
const STEPS = [
  { id: 'goal-1', script: 'run.mjs', result: 'latest.json', args: ['--only', 'bare-undici,http-proxy,cutover', '--connections', '50', ...(quick ? ['--runs', '2', '--duration', '3'] : ['--runs', '6', '--duration', '5'])] },
  { id: 'goal-1-pair', script: 'pair.mjs', result: 'pair.json', args: ['--pair', 'bare-undici,cutover', ...(quick ? ['--rounds', '2', '--duration', '3'] : [])] },
  { id: 'goal-1-pair-hp', script: 'pair.mjs', result: 'pair.json', args: ['--pair', 'http-proxy,cutover', ...(quick ? ['--rounds', '2', '--duration', '3'] : [])] },
  { id: 'goal-2', script: 'run.mjs', result: 'latest.json', args: ['--only', 'bare-undici,cutover', '--connections', '200', ...(quick ? ['--runs', '1', '--duration', '3'] : ['--runs', '3', '--duration', '20'])] },
  { id: 'goal-3', script: 'scale.mjs', result: 'scale.json', args: quick ? ['--rounds', '1', '--duration', '3'] : [] },
  { id: 'goal-4', script: 'memory.mjs', result: 'memory.json', args: quick ? ['--duration', '3'] : [] },
  { id: 'goal-5-one', script: 'switch.mjs', result: 'switch.json', args: ['--deploys', '1', '--flips', quick ? '5' : '20'] },
  { id: 'goal-5-workers', script: 'switch.mjs', result: 'switch.json', args: ['--deploys', '1', '--flips', quick ? '5' : '20', '--workers', '2'] },
];

const NOT_MEASURED = 'not measured (the step failed)';
const fixed = (n, digits = 2) => (n === null || n === undefined || !Number.isFinite(n) ? '–' : n.toFixed(digits));

const dir = join(resultsDir, 'goals');
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
const started = new Date();
console.log(`cutover's performance goals (issue #7), ${started.toISOString()}, cutover ${cutoverRevision(join(benchDir, '..'))}${quick ? ', --quick: not for figures' : ''}\n`);

const results = {};
for (const step of STEPS) results[step.id] = await runStep(step);

const rows = judge(results);
console.log(`\n${markdownTable(['goal', 'target', 'measured', 'met'], rows.map((r) => [r.goal, r.target, r.measured, r.met === null ? '–' : r.met ? 'yes' : 'NO']))}`);
console.log(`\n${Math.round((Date.now() - started.getTime()) / 1000)} s; each step's output and JSON: ${dir}/`);
writeJson(join(dir, 'goals.json'), { date: started.toISOString(), quick, rows });

/** Runs one bench script to its end, its output into a log; its JSON, or null when it failed. */
async function runStep({ id, script, result, args }) {
  const log = join(dir, `${id}.log`);
  const line = `node bench/${script} ${args.join(' ')}`;
  process.stdout.write(`${id.padEnd(15)} ${line} ... `);
  const out = createWriteStream(log);
  const child = spawn(process.execPath, [join(benchDir, script), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.pipe(out, { end: false });
  child.stderr.pipe(out, { end: false });
  const code = await new Promise((resolve) => child.once('close', resolve));
  out.end();
  if (code !== 0) {
    console.log(`failed (exit ${code}); see ${log}`);
    return null;
  }
  copyFileSync(join(resultsDir, result), join(dir, `${id}.json`));
  console.log('done');
  return JSON.parse(readFileSync(join(dir, `${id}.json`), 'utf8'));
}

/** The goals' rows; a step that failed gives "not measured". */
function judge(r) {
  return [...goal1(r['goal-1']), ...goal1SideBySide(r['goal-1-pair'], r['goal-1-pair-hp']), goal2(r['goal-2']), goal3(r['goal-3']), ...goal4(r['goal-4']), goal5(r['goal-5-one'], 'one process', 5), goal5(r['goal-5-workers'], 'workers: 2', 20)];
}

function goal1(j) {
  const rows = [
    { goal: '1. req/s vs the bare forwarder, c50', target: '≥ 0.95' },
    { goal: '1. p99 vs the bare forwarder, c50', target: '≤ 1.3x' },
    { goal: '1. req/s vs http-proxy, c50', target: '≥ 1.7x' },
  ];
  if (j === null) return rows.map((row) => ({ ...row, measured: NOT_MEASURED, met: false }));
  const paired = j.summary[0].paired;
  const cutover = paired.find((p) => p.contender === 'cutover');
  const httpProxy = paired.find((p) => p.contender === 'http-proxy');
  const spread = (s) => (s === null || s === undefined ? '–' : `${fixed(s.median)} run by run (${fixed(s.min)}–${fixed(s.max)})`);
  // Both against the bare forwarder of the same round: their quotient is cutover against http-proxy, round by round.
  const vsHttpProxy = cutover && httpProxy ? cutover.rps.median / httpProxy.rps.median : null;
  return [
    { ...rows[0], measured: spread(cutover?.rps), met: cutover ? cutover.rps.median >= 0.95 : false },
    { ...rows[1], measured: spread(cutover?.p99Ms), met: cutover ? cutover.p99Ms.median <= 1.3 : false },
    { ...rows[2], measured: `${fixed(vsHttpProxy)} (medians of the run-by-run ratios to the bare forwarder)`, met: vsHttpProxy !== null && vsHttpProxy >= 1.7 },
  ];
}

/** The same targets from `bench:pair`: both at once on one core, requests per CPU-second, round by round. */
function goal1SideBySide(bare, httpProxy) {
  const row = (goal, target, j, limit) => {
    if (j === null || j.perCpu === null) return { goal, target, measured: NOT_MEASURED, met: false };
    const { median: m, min, max } = j.perCpu;
    return { goal, target, measured: `${fixed(m)} (${fixed(min)}–${fixed(max)}) over ${j.rounds.length} rounds, ${j.errors} errors`, met: m >= limit && j.errors === 0 };
  };
  return [
    row('1. requests per CPU-second vs the bare forwarder, side by side on one core, c50', '≥ 0.95', bare, 0.95),
    row('1. requests per CPU-second vs http-proxy, side by side on one core, c50', '≥ 1.7x', httpProxy, 1.7),
  ];
}

function goal2(j) {
  const row = { goal: '2. p99 at 200 connections, one core', target: '≤ 25 ms' };
  if (j === null) return { ...row, measured: NOT_MEASURED, met: false };
  const runs = (name) => j.runs.filter((r) => r.contender === name && r.result !== null).map((r) => r.result.p99Ms);
  const cutover = runs('cutover');
  const bare = runs('bare-undici');
  const measured = `${fixed(median(cutover), 1)} ms, median of ${cutover.map((v) => fixed(v, 1)).join(' / ')} (bare forwarder ${fixed(median(bare), 1)} ms)`;
  return { ...row, measured, met: cutover.length > 0 && median(cutover) <= 25 };
}

function goal3(j) {
  const row = { goal: '3. scaling from 1 to 2 workers', target: 'reported' };
  const two = j?.summary.find((s) => s.workers === 2);
  if (!two) return { ...row, measured: NOT_MEASURED, met: false };
  return { ...row, measured: `${fixed(two.rpsVsOne)}x the req/s of workers: 1 (rounds ${two.roundsVsOne.map((v) => fixed(v)).join(', ')}; unpinned, wrk on the same cores)`, met: null };
}

function goal4(j) {
  const rows = [
    { goal: '4. RSS per process under load', target: '≤ 120 MB' },
    { goal: '4. 10,000 idle keep-alive connections', target: 'held without error' },
  ];
  if (j === null) return rows.map((row) => ({ ...row, measured: NOT_MEASURED, met: false }));
  const underLoad = j.phases.find((p) => /alone/.test(p.phase));
  const failures = Object.values(j.idleFailures ?? {}).reduce((a, b) => a + b, 0);
  return [
    { ...rows[0], measured: `${fixed(underLoad?.rss.largestMb, 0)} MB (${underLoad?.phase ?? '?'})`, met: underLoad !== undefined && underLoad.rss.largestMb <= 120 },
    { ...rows[1], measured: `${j.answeredAtEnd} of ${j.options.idle} answered at the end, ${failures} failed`, met: j.answeredAtEnd === j.options.idle && failures === 0 },
  ];
}

function goal5(j, how, limitMs) {
  const row = { goal: `5. switch to the first request routed to the new env, ${how}`, target: `≤ ${limitMs} ms` };
  if (j === null) return { ...row, measured: NOT_MEASURED, met: false };
  const routed = j.flips.map((f) => f.routedMs).filter((v) => v !== null);
  // The same p50 as bench:switch prints for the run.
  const p50 = quantile(routed, 0.5);
  const measured = `p50 ${fixed(p50)} ms over ${routed.length} of ${j.flips.length} new deployments' switches; ${j.failures} of ${j.requests} requests failed`;
  return { ...row, measured, met: routed.length === j.flips.length && p50 <= limitMs && j.failures === 0 };
}
