#!/usr/bin/env node
// `npm run bench:pair`: two contenders at the same time on the proxy's one core, each loaded by its own wrk, round
// after round; per round, each one's requests per CPU-second (CPU µs per request, from /proc) and req/s, and the
// second against the first. The VM this was built on changes speed by up to 40% from one second to the next; runs
// taken one after another (`npm run bench`) carry that into every ratio, while two contenders sharing one core at
// once run at the same speed. See bench/README.md, "Side by side on one core".
import { join } from 'node:path';
import { startBackend } from './lib/backend.mjs';
import { CONTENDERS } from './lib/contenders.mjs';
import { sleep } from './lib/http.mjs';
import { chooseLoadGenerator } from './lib/load.mjs';
import { cutoverRevision } from './lib/machine.mjs';
import { readNumberOptionsOrExit } from './lib/options.mjs';
import { groupCpuSeconds } from './lib/proc-stat.mjs';
import { markdownTable, median, writeJson } from './lib/report.mjs';
import { openSession, resultsDir, runSession, stopIfStopping } from './lib/session.mjs';

const DEFAULTS = Object.freeze({ rounds: 10, duration: 5, connections: 50 });
/** Both contenders get this much load at once first, not counted: the JIT compiles their hot paths. */
const WARMUP_S = 2;
/** Lets sockets of the last round close and GC settle before the next. */
const BETWEEN_ROUNDS_MS = 500;
/** Together the two used less of their shared core than this: the load generator held them back (flagged). */
const SATURATED_BUSY = 0.9;
const PAIR = ['bare-undici', 'cutover'];
const USAGE = `usage: npm run bench:pair -- [--rounds ${DEFAULTS.rounds}] [--duration ${DEFAULTS.duration}] [--connections ${DEFAULTS.connections}] [--pair ${PAIR.join(',')}]
  --rounds       rounds; in each, both contenders are loaded at once for --duration measured seconds
  --duration     measured seconds per round (wrk runs 1 s longer: the connections' idle first second)
  --connections  each contender's wrk connections
  --pair A,B     the two contenders (names as in \`npm run bench\`); every ratio is B against A`;

const { pair, argv } = readPair(process.argv.slice(2));
const options = readNumberOptionsOrExit('bench:pair', DEFAULTS, USAGE, { argv });
const ctx = openSession({ logs: 'logs-pair' });
await runSession(ctx, 'bench:pair', measurePair);

async function measurePair() {
  const revision = cutoverRevision(ctx.root);
  ctx.backend = await startBackend(ctx, null);
  const loadgen = chooseLoadGenerator(ctx, null);
  if (loadgen.kind !== 'wrk') throw new Error('bench:pair needs wrk: two load generators at once, neither in the bench process');
  console.log(`side by side, ${new Date().toISOString()}, cutover ${revision}`);
  console.log(`${pair.join(' and ')}, both on CPU ${ctx.cpu.proxy}${ctx.pin ? '' : ' (not pinned)'}, each loaded by its own ${loadgen.description} -c${options.connections} on CPU ${ctx.cpu.loadgen} with the backend (${ctx.backend.kind}); ${options.rounds} rounds of ${options.duration} s\n`);
  const started = [];
  for (const name of pair) started.push({ name, ...(await CONTENDERS.find((c) => c.name === name).start(ctx)) });
  await Promise.all(started.map((c) => loadgen.run(c.url, { duration: WARMUP_S, connections: options.connections })));
  const rounds = [];
  for (let i = 0; i < options.rounds; i++) {
    stopIfStopping(ctx);
    await sleep(BETWEEN_ROUNDS_MS);
    rounds.push(await round(started, loadgen));
  }
  report(rounds, revision, loadgen);
}

/** Both contenders loaded at once; each one's req/s, p99, CPU-seconds and CPU µs per request. */
async function round(started, loadgen) {
  const before = started.map((c) => groupCpuSeconds(c.child.proc.pid));
  const results = await Promise.all(started.map((c) => loadgen.run(c.url, { duration: options.duration, connections: options.connections })));
  return started.map((c, i) => {
    const { rps, p99Ms, requests, errors } = results[i];
    const cpuS = before[i] === null ? null : groupCpuSeconds(c.child.proc.pid) - before[i];
    return { contender: c.name, rps, p99Ms, requests, errors, cpuS, cpuUsPerRequest: cpuS === null || requests === 0 ? null : (cpuS * 1e6) / requests };
  });
}

function report(rounds, revision, loadgen) {
  const [a, b] = pair;
  const fixed = (n, digits = 2) => (n === null || !Number.isFinite(n) ? '–' : n.toFixed(digits));
  const ratio = (r, key, invert = false) => (r[0][key] === null || r[1][key] === null ? null : invert ? r[0][key] / r[1][key] : r[1][key] / r[0][key]);
  const body = rounds.map((r, i) => [
    String(i + 1),
    ...r.flatMap((c) => [Math.round(c.rps).toLocaleString('en-US'), fixed(c.cpuUsPerRequest, 1)]),
    fixed(ratio(r, 'cpuUsPerRequest', true)),
    fixed(ratio(r, 'rps')),
  ]);
  console.log(markdownTable(['round', `${a} req/s`, `${a} CPU µs/req`, `${b} req/s`, `${b} CPU µs/req`, `${b} requests per CPU-second vs ${a}`, `${b} req/s vs ${a}`], body));
  const spread = (values) => {
    const v = values.filter((x) => x !== null);
    return v.length === 0 ? null : { median: median(v), min: Math.min(...v), max: Math.max(...v) };
  };
  const perCpu = spread(rounds.map((r) => ratio(r, 'cpuUsPerRequest', true)));
  const perSecond = spread(rounds.map((r) => ratio(r, 'rps')));
  const show = (s) => (s === null ? '–' : `${fixed(s.median)} (${fixed(s.min)}–${fixed(s.max)})`);
  console.log(`\n${b} against ${a}, median (lowest–highest) of ${rounds.length} rounds:`);
  console.log(`  requests per CPU-second: ${show(perCpu)}`);
  console.log(`  req/s:                   ${show(perSecond)}`);
  const errors = rounds.flat().reduce((n, c) => n + c.errors, 0);
  console.log(`  errors: ${errors}`);
  // Unpinned, they share no one core: there is no limit to compare with.
  const held = rounds.filter((r) => ctx.pin && r.every((c) => c.cpuS !== null) && r.reduce((s, c) => s + c.cpuS, 0) / options.duration < SATURATED_BUSY);
  if (held.length > 0) console.log(`\nrounds ${held.map((r) => rounds.indexOf(r) + 1).join(', ')}: the two used less than ${SATURATED_BUSY * 100}% of their core between them; the load generator's CPU held them back, so req/s there says less than CPU µs/req`);
  const file = join(resultsDir, 'pair.json');
  writeJson(file, { date: new Date().toISOString(), command: ['npm run bench:pair --', ...process.argv.slice(2)].join(' '), cutover: revision, machine: ctx.machine, loadgen: loadgen.description, options: { ...options, pair }, rounds, perCpu, perSecond, errors });
  console.log(`\nresults: ${file}\nlogs:    ${ctx.logDir}/`);
}

/** `--pair A,B` taken out of the arguments (the rest are numbers); both must be contenders of `npm run bench`. */
function readPair(args) {
  const at = args.indexOf('--pair');
  if (at === -1) return { pair: PAIR, argv: args };
  const names = (args[at + 1] ?? '').split(',');
  // `direct` is no process of its own: it has no CPU time to compare.
  const known = CONTENDERS.map((c) => c.name).filter((n) => n !== 'direct');
  const unknown = names.filter((n) => !known.includes(n));
  if (names.length !== 2 || unknown.length > 0 || names[0] === names[1]) {
    console.error(`bench:pair: --pair takes two different contenders out of ${known.join(', ')}${unknown.length > 0 ? `; unknown: ${unknown.join(', ')}` : ''}\n${USAGE}`);
    process.exit(2);
  }
  return { pair: names, argv: [...args.slice(0, at), ...args.slice(at + 2)] };
}
