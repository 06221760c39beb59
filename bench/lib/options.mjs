// The bench's knobs, read once from argv (wins) and env, checked, then frozen.
import { parseArgs } from 'node:util';

export const DEFAULTS = Object.freeze({ duration: 10, connections: [50], runs: 3, warmup: 2, threads: 1 });
/** A smoke test: does every contender start, answer and survive a short load? Not for figures. */
const QUICK = Object.freeze({ duration: 3, runs: 1, warmup: 1 });

export const USAGE = `usage: npm run bench -- [--duration S] [--connections N[,N...]] [--runs N] [--quick]
                       [--only a,b] [--loadgen wrk|autocannon] [--backend nginx|node]
                       [--threads N] [--backend-cpu loadgen|proxy] [--cold-connections]
  env: BENCH_DURATION, BENCH_CONNECTIONS, BENCH_RUNS, BENCH_QUICK=1, BENCH_ONLY, BENCH_LOADGEN, BENCH_BACKEND,
       BENCH_THREADS, BENCH_BACKEND_CPU, BENCH_COLD_CONNECTIONS=1
  --duration   measured seconds per run; with wrk each run lasts 1 s more (the connections' idle first second)
  --connections  one or more counts (50,200): the whole interleaved set runs at each, one table per count
  --only       contenders to measure (direct, nginx, haproxy, bare-undici, http-proxy, cutover)
  --threads    wrk threads (default 1; all on the load generator's CPU)
  --backend-cpu  the backend's CPU: with the load generator (default) or with the proxy under test
  --cold-connections  wrk opens its connections while measuring, as plain wrk does: the first requests then
               wait in the proxy's accept queue and wrk's coordinated-omission correction multiplies them. To
               measure that accept burst itself. Default: every connection is opened and accepted in a second
               before the measurement (bench/lib/warm-connections.lua); autocannon is always cold
  --loadgen    force a load generator (default: wrk when installed, else autocannon)
  --backend    force a backend (default: nginx when installed, else a Node http server)`;

export class OptionsError extends Error {}

export function readOptions(argv = process.argv.slice(2), env = process.env) {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, options: ARG_SPEC, strict: true, allowPositionals: false }));
  } catch (err) {
    throw new OptionsError(err.message);
  }
  if (values.help) return Object.freeze({ help: true });
  const quick = values.quick ?? yes(env.BENCH_QUICK);
  const base = quick ? { ...DEFAULTS, ...QUICK } : DEFAULTS;
  const problems = [];
  const number = (name) => positiveInt(values[name] ?? env[`BENCH_${name.toUpperCase()}`], base[name], name, problems);
  const options = {
    quick,
    duration: number('duration'),
    connections: numbers(values.connections ?? env.BENCH_CONNECTIONS, base.connections, 'connections', problems),
    runs: number('runs'),
    warmup: base.warmup,
    threads: number('threads'),
    coldConnections: values['cold-connections'] ?? yes(env.BENCH_COLD_CONNECTIONS),
    backendCpu: oneOf(values['backend-cpu'] ?? env.BENCH_BACKEND_CPU, ['loadgen', 'proxy'], 'backend-cpu', problems) ?? 'loadgen',
    only: list(values.only ?? env.BENCH_ONLY),
    loadgen: oneOf(values.loadgen ?? env.BENCH_LOADGEN, ['wrk', 'autocannon'], 'loadgen', problems),
    backend: oneOf(values.backend ?? env.BENCH_BACKEND, ['nginx', 'node'], 'backend', problems),
  };
  if (problems.length > 0) throw new OptionsError(problems.join('\n'));
  return Object.freeze(options);
}

const ARG_SPEC = {
  duration: { type: 'string' },
  connections: { type: 'string' },
  runs: { type: 'string' },
  quick: { type: 'boolean' },
  only: { type: 'string' },
  loadgen: { type: 'string' },
  backend: { type: 'string' },
  threads: { type: 'string' },
  'backend-cpu': { type: 'string' },
  'cold-connections': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

/** `raw` as a whole number above 0; `fallback` when absent; a problem (and `fallback`) when it is not one. */
export function positiveInt(raw, fallback, name, problems) {
  return wholeNumber(raw, fallback, name, problems, 1);
}

/** `raw` as a whole number of at least `min` (0 or 1); `fallback` when absent; a problem (and `fallback`) otherwise. */
export function wholeNumber(raw, fallback, name, problems, min) {
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (Number.isInteger(n) && n >= min) return n;
  problems.push(`--${name} must be ${min === 0 ? 'a whole number, 0 or more' : 'a positive whole number'}, got "${raw}"`);
  return fallback;
}

function yes(raw) {
  return ['1', 'true', 'yes'].includes(raw ?? '');
}

function numbers(raw, fallback, name, problems) {
  const items = list(raw);
  if (items === null) return fallback;
  return [...new Set(items.map((item) => positiveInt(item, null, name, problems)).filter((n) => n !== null))];
}

function oneOf(raw, allowed, name, problems) {
  if (raw === undefined || raw === '') return null;
  if (allowed.includes(raw)) return raw;
  problems.push(`--${name} must be one of ${allowed.join(', ')}, got "${raw}"`);
  return null;
}

function list(raw) {
  if (raw === undefined || raw === '') return null;
  return raw.split(',').map((s) => s.trim()).filter(Boolean);
}

/**
 * The options of a bench script whose flags are all whole numbers (switch.mjs, memory.mjs, scale.mjs): each name
 * in `defaults` is a flag, positive unless listed in `mayBeZero` (0 or more: switch.mjs's --gap); a name in
 * `lists` takes a comma-separated list of positive numbers (scale.mjs's --workers 1,2; duplicates dropped, its
 * default an array). Prints `usage` and exits on --help (0) or on a bad flag (2).
 */
export function readNumberOptionsOrExit(script, defaults, usage, { mayBeZero = [], lists = [], argv = process.argv.slice(2) } = {}) {
  try {
    const spec = Object.fromEntries(Object.keys(defaults).map((name) => [name, { type: 'string' }]));
    const { values } = parseArgs({ args: argv, options: { ...spec, help: { type: 'boolean', short: 'h' } } });
    if (values.help) {
      console.log(usage);
      process.exit(0);
    }
    const problems = [];
    const read = (name, fallback) => (lists.includes(name)
      ? numbers(values[name], fallback, name, problems)
      : wholeNumber(values[name], fallback, name, problems, mayBeZero.includes(name) ? 0 : 1));
    const parsed = Object.fromEntries(Object.entries(defaults).map(([name, fallback]) => [name, read(name, fallback)]));
    if (problems.length > 0) throw new OptionsError(problems.join('\n'));
    return Object.freeze(parsed);
  } catch (err) {
    console.error(`${script}: ${err.message}\n${usage}`);
    process.exit(2);
  }
}
