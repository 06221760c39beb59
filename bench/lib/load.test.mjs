// parseWrk against wrk 4 reports: `node bench/lib/load.test.mjs` (not part of `npm test`; the bench has no test
// runner). Exits non-zero when a case fails.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseWrk } from './load.mjs';

/** A wrk 4 report as `wrk --latency` prints it; the socket-error and non-2xx lines only when given. */
function report({ latencies, requests, runtime, rps, socket = null, non2xx = null }) {
  const [p50, p75, p90, p99] = latencies;
  return [
    'Running 6s test @ http://127.0.0.1:8080/',
    '  1 threads and 50 connections',
    '  Thread Stats   Avg      Stdev     Max   +/- Stdev',
    '    Latency     2.98ms    1.27ms  30.12ms   91.23%',
    '    Req/Sec    16.87k     1.23k   18.02k    80.00%',
    '  Latency Distribution',
    `     50%  ${p50}`,
    `     75%  ${p75}`,
    `     90%  ${p90}`,
    `     99%  ${p99}`,
    `  ${requests} requests in ${runtime}, 14.48MB read`,
    ...(socket === null ? [] : [`  Socket errors: connect ${socket[0]}, read ${socket[1]}, write ${socket[2]}, timeout ${socket[3]}`]),
    ...(non2xx === null ? [] : [`  Non-2xx or 3xx responses: ${non2xx}`]),
    `Requests/sec: ${rps.padStart(9)}`,
    'Transfer/sec:      2.41MB',
    '',
  ].join('\n');
}

const CASES = [
  {
    name: 'cold 10 s run, µs latencies, no errors: rps is wrk\'s own',
    text: report({ latencies: ['308.00us', '402.00us', '518.00us', '710.00us'], requests: 1213131, runtime: '10.00s', rps: '121299.87' }),
    idleS: 0,
    expect: { p50Ms: 0.308, p75Ms: 0.402, p90Ms: 0.518, p99Ms: 0.71, requests: 1213131, errors: 0, non2xx: 0, socketErrors: 0, wrkRps: 121299.87, rps: 121299.87, runtimeS: 1213131 / 121299.87, measuredS: 1213131 / 121299.87 },
  },
  {
    name: 'warm 5 s run (6 s with the idle second): run time from requests / Requests/sec, not the rounded "6.00s"',
    text: report({ latencies: ['2.71ms', '3.05ms', '3.80ms', '8.56ms'], requests: 101234, runtime: '6.00s', rps: '16862.25' }),
    idleS: 1,
    expect: { p50Ms: 2.71, p99Ms: 8.56, requests: 101234, errors: 0, wrkRps: 16862.25, runtimeS: 101234 / 16862.25, measuredS: 101234 / 16862.25 - 1, rps: 101234 / (101234 / 16862.25 - 1) },
  },
  {
    name: 'a minute-long run printed as "1.02m", seconds in the tail, socket errors and non-2xx',
    text: report({ latencies: ['11.60ms', '17.41ms', '29.24ms', '1.20s'], requests: 840007, runtime: '1.02m', rps: '13697.41', socket: [0, 3, 1, 7], non2xx: 12 }),
    idleS: 1,
    expect: { p50Ms: 11.6, p90Ms: 29.24, p99Ms: 1200, requests: 840007, non2xx: 12, socketErrors: 11, errors: 23, wrkRps: 13697.41, runtimeS: 840007 / 13697.41, measuredS: 840007 / 13697.41 - 1 },
  },
  {
    name: 'no request at all: falls back to the printed run time',
    text: report({ latencies: ['0.00us', '0.00us', '0.00us', '0.00us'], requests: 0, runtime: '3.00s', rps: '0.00' }),
    idleS: 0,
    expect: { p99Ms: 0, requests: 0, rps: 0, wrkRps: 0, runtimeS: 3, measuredS: 3 },
  },
];

for (const c of CASES) {
  test(c.name, () => {
    const result = parseWrk(c.text, { idleS: c.idleS });
    for (const [key, want] of Object.entries(c.expect)) {
      const got = result[key];
      assert.equal(typeof got, 'number', `${key}: not a number (${got})`);
      assert.ok(Math.abs(got - want) <= 1e-9 * Math.max(1, Math.abs(want)), `${key}: got ${got}, want ${want}`);
    }
  });
}

const FAILURES = [
  { name: 'not a wrk report', text: 'unable to connect to 127.0.0.1:1 Connection refused\n', idleS: 0, error: /could not read wrk's report/ },
  {
    name: 'no latency distribution (wrk without --latency)',
    text: report({ latencies: ['1ms', '1ms', '1ms', '1ms'], requests: 10, runtime: '1.00s', rps: '10.00' }).replace(/^\s+\d+%.*\n/gm, ''),
    idleS: 0,
    error: /could not read wrk's report/,
  },
  {
    name: 'a warm run no longer than its idle second',
    text: report({ latencies: ['1.00ms', '1.00ms', '1.00ms', '1.00ms'], requests: 0, runtime: '1.00s', rps: '0.00' }),
    idleS: 1,
    error: /not more than the 1 s it idled/,
  },
];

for (const c of FAILURES) {
  test(`throws: ${c.name}`, () => {
    assert.throws(() => parseWrk(c.text, { idleS: c.idleS }), c.error);
  });
}
