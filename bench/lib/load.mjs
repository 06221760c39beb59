// The load generators. Both return one shape per run:
//   { rps, p50Ms, p75Ms, p90Ms, p99Ms, requests, non2xx, socketErrors, errors }   (errors = non2xx + socketErrors)
import autocannon from 'autocannon';

/** A run may overrun its duration by this much (connect, report) before it is killed and counted as failed. */
const OVERRUN_MS = 15_000;

/** wrk when installed (C, one thread: far cheaper per request than any Node client), else autocannon. */
export function chooseLoadGenerator(ctx, forced, threads = 1) {
  const kind = forced ?? (ctx.tools.wrk === null ? 'autocannon' : 'wrk');
  if (kind === 'wrk' && ctx.tools.wrk === null) throw new Error('--loadgen wrk asked for, but wrk is not installed');
  if (kind === 'wrk') {
    const description = `${ctx.tools.wrk.version.split(' [')[0]} -t${threads} --latency`;
    return { kind, description, run: (url, o) => runWrk(ctx, url, { ...o, threads }) };
  }
  const why = forced === 'autocannon' ? 'chosen with --loadgen autocannon' : 'wrk is not installed';
  return { kind, description: `autocannon 9 in the bench process (${why})`, run: runAutocannon };
}

async function runWrk(ctx, url, { duration, connections, threads }) {
  const args = [`-t${threads}`, `-c${connections}`, `-d${duration}s`, '--latency', `${url}/`];
  const child = ctx.procs.start('wrk', ctx.tools.wrk.file, args, { cpu: ctx.cpu.loadgen, log: false });
  const timer = setTimeout(() => child.signal('SIGKILL'), duration * 1000 + OVERRUN_MS);
  await child.exited;
  clearTimeout(timer);
  if (child.exitCode !== 0) throw new Error(`wrk ${child.exitReason}: ${child.output.trim().split('\n').slice(-3).join(' | ')}`);
  return parseWrk(child.output);
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
 */
export function parseWrk(text) {
  const number = (re) => Number(text.match(re)?.[1] ?? NaN);
  const latency = (pct) => toMs(text.match(new RegExp(`^\\s+${pct}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm')));
  const socket = text.match(/Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/);
  const socketErrors = socket === null ? 0 : socket.slice(1).reduce((sum, n) => sum + Number(n), 0);
  const non2xx = number(/Non-2xx or 3xx responses: (\d+)/) || 0;
  const result = {
    rps: number(/Requests\/sec:\s+([\d.]+)/),
    p50Ms: latency(50),
    p75Ms: latency(75),
    p90Ms: latency(90),
    p99Ms: latency(99),
    requests: number(/(\d+) requests in/),
    non2xx,
    socketErrors,
    errors: non2xx + socketErrors,
  };
  if (Number.isNaN(result.rps) || Number.isNaN(result.p99Ms)) throw new Error(`could not read wrk's report:\n${text}`);
  return result;
}

function toMs(match) {
  if (match === null) return NaN;
  const scale = { us: 0.001, ms: 1, s: 1000, m: 60_000 }[match[2]];
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
