// The load generators. Both return one shape per run:
//   { rps, p50Ms, p75Ms, p90Ms, p99Ms, requests, non2xx, socketErrors, errors }   (errors = non2xx + socketErrors)
// wrk's runs add { wrkRps, runtimeS, measuredS }: wrk's own Requests/sec, its whole run, and the part measured.
import { join } from 'node:path';
import autocannon from 'autocannon';
import { benchDir } from './session.mjs';

/** A run may overrun its duration by this much (connect, report) before it is killed and counted as failed. */
const OVERRUN_MS = 15_000;
/** The wrk script that holds each connection's first request until every connection has been accepted. */
export const WARM_SCRIPT = join(benchDir, 'lib', 'warm-connections.lua');
/** How long that first request waits (the script's WAIT_MS): the idle second added in front of every wrk run. */
export const WARM_WAIT_S = 1;

/**
 * wrk when installed (C, one thread: far cheaper per request than any Node client), else autocannon.
 *
 * With wrk, connections are "warm" by default: opened and accepted before anything is measured (see
 * warm-connections.lua for why), and `coldConnections` restores wrk's plain behaviour, where the accept queue
 * of the first second is part of the figures. autocannon has no such hook: its connections are always cold.
 * `connections` in the answer says which mode the runs use ({ mode, note }), for the report and the JSON.
 */
export function chooseLoadGenerator(ctx, forced, { threads = 1, coldConnections = false } = {}) {
  const kind = forced ?? (ctx.tools.wrk === null ? 'autocannon' : 'wrk');
  if (kind === 'wrk' && ctx.tools.wrk === null) throw new Error('--loadgen wrk asked for, but wrk is not installed');
  if (kind === 'wrk') {
    const warm = !coldConnections;
    const description = `${ctx.tools.wrk.version.split(' [')[0]} -t${threads} --latency${warm ? ' -s bench/lib/warm-connections.lua' : ''}`;
    return { kind, description, connections: connectionsMode(warm ? 'warm' : 'cold'), run: (url, o) => runWrk(ctx, url, { ...o, threads, warm }) };
  }
  const why = forced === 'autocannon' ? 'chosen with --loadgen autocannon' : 'wrk is not installed';
  return { kind, description: `autocannon 9 in the bench process (${why})`, connections: connectionsMode('cold-autocannon'), run: runAutocannon };
}

function connectionsMode(mode) {
  const note = {
    warm: `connections opened and accepted before measuring (bench/lib/warm-connections.lua: wrk runs ${WARM_WAIT_S} s longer, each connection's first request waits that second, unmeasured; req/s = requests / (wrk's run - ${WARM_WAIT_S} s)); --cold-connections to include the accept queue`,
    cold: 'cold connections (--cold-connections): opened while measured, so the first requests include the accept queue and wrk multiplies them (bench/README.md, "The tail at 200 connections")',
    'cold-autocannon': 'cold connections (autocannon has no warm mode): opened while measured, the first requests include the accept queue',
  }[mode];
  return { mode: mode === 'warm' ? 'warm' : 'cold', note };
}

/**
 * One wrk run of `duration` measured seconds. Warm: wrk runs WARM_WAIT_S longer (the duration needs no floor:
 * even 1 s is measured in full), with the script and the connections per thread in its environment (wrk gives
 * each thread connections / threads of them, and each thread runs its own copy of the script).
 */
async function runWrk(ctx, url, { duration, connections, threads, warm }) {
  const idleS = warm ? WARM_WAIT_S : 0;
  const script = warm ? ['-s', WARM_SCRIPT] : [];
  const args = [`-t${threads}`, `-c${connections}`, `-d${duration + idleS}s`, '--latency', ...script, `${url}/`];
  const env = warm ? { BENCH_WARM_CONNECTIONS: String(Math.floor(connections / threads)) } : {};
  const child = ctx.procs.start('wrk', ctx.tools.wrk.file, args, { cpu: ctx.cpu.loadgen, env, log: false });
  const timer = setTimeout(() => child.signal('SIGKILL'), (duration + idleS) * 1000 + OVERRUN_MS);
  await child.exited;
  clearTimeout(timer);
  if (child.exitCode !== 0) throw new Error(`wrk ${child.exitReason}: ${child.output.trim().split('\n').slice(-3).join(' | ')}`);
  // wrk prints a script that fails to load as "FILE: error" and then runs without it, i.e. cold: not a warm run.
  const scriptError = warm ? child.output.split('\n').find((line) => line.includes(`${WARM_SCRIPT}: `)) : undefined;
  if (scriptError !== undefined) throw new Error(`wrk could not run the warm-connections script: ${scriptError.trim()}`);
  return parseWrk(child.output, { idleS });
}

/**
 * Reads wrk 4's report, of which these lines matter (the last two only appear when non-zero):
 *     Latency Distribution
 *        50%  308.00us
 *        75%  402.00us
 *        90%  518.00us
 *        99%  710.00us
 *     1213130 requests in 10.00s, 173.54MB read
 *     Socket errors: connect 0, read 0, write 0, timeout 0
 *     Non-2xx or 3xx responses: 12
 *   Requests/sec: 121313.00
 *
 * `idleS`: seconds at the start of the run in which no request was sent (warm connections). wrk's Requests/sec
 * is requests over its whole run, idle second included; `rps` is then requests / (run - idleS), the rate while
 * measuring, and wrk's own figure is kept as `wrkRps`. With idleS = 0 the two are the same.
 *
 * The run's length: wrk prints it rounded for reading ("10.00s", "1.02m": to 0.6 s at a minute), but its
 * Requests/sec is requests / the exact run time (µs, printed to 0.01 req/s), so `runtimeS` is requests / wrkRps.
 * Only a run without a single request falls back to the printed time.
 */
export function parseWrk(text, { idleS = 0 } = {}) {
  const number = (re) => Number(text.match(re)?.[1] ?? NaN);
  const latency = (pct) => toMs(text.match(new RegExp(`^\\s+${pct}%\\s+([\\d.]+)(us|ms|s|m|h)\\s*$`, 'm')));
  const socket = text.match(/Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/);
  const socketErrors = socket === null ? 0 : socket.slice(1).reduce((sum, n) => sum + Number(n), 0);
  const non2xx = number(/Non-2xx or 3xx responses: (\d+)/) || 0;
  const requests = number(/(\d+) requests in/);
  const printedRuntimeS = toMs(text.match(/\d+ requests in ([\d.]+)(us|ms|s|m|h),/)) / 1000;
  const wrkRps = number(/Requests\/sec:\s+([\d.]+)/);
  const runtimeS = requests > 0 && wrkRps > 0 ? requests / wrkRps : printedRuntimeS;
  const measuredS = runtimeS - idleS;
  const result = {
    rps: idleS === 0 ? wrkRps : requests / measuredS,
    p50Ms: latency(50),
    p75Ms: latency(75),
    p90Ms: latency(90),
    p99Ms: latency(99),
    requests,
    non2xx,
    socketErrors,
    errors: non2xx + socketErrors,
    wrkRps,
    runtimeS,
    measuredS,
  };
  if ([requests, printedRuntimeS, wrkRps, result.p99Ms].some(Number.isNaN)) throw new Error(`could not read wrk's report:\n${text}`);
  if (measuredS <= 0) throw new Error(`wrk ran ${runtimeS.toFixed(3)} s, not more than the ${idleS} s it idled:\n${text}`);
  return result;
}

function toMs(match) {
  if (match === null) return NaN;
  const scale = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2]];
  return Number(match[1]) * scale;
}

async function runAutocannon(url, { duration, connections }) {
  const instance = autocannon({ url: `${url}/`, connections, duration });
  let timer;
  const overrun = new Promise((_, reject) => {
    timer = setTimeout(() => {
      instance.stop();
      reject(new Error(`autocannon did not finish within ${duration}s + ${OVERRUN_MS} ms`));
    }, duration * 1000 + OVERRUN_MS);
  });
  try {
    const r = await Promise.race([instance, overrun]);
    const socketErrors = r.errors;
    return {
      rps: r.requests.average,
      p50Ms: r.latency.p50,
      p75Ms: r.latency.p75,
      p90Ms: r.latency.p90,
      p99Ms: r.latency.p99,
      requests: r.requests.total,
      non2xx: r.non2xx,
      socketErrors,
      errors: r.non2xx + socketErrors,
    };
  } finally {
    clearTimeout(timer);
  }
}
