import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ConfigProblem } from '../core/errors.ts';
import type { VerifyCheck, VerifyConfig } from './config.ts';
import { webApp, webProblems } from './schema-testing.ts';

const CHECK: VerifyCheck = {
  name: 'GET /healthz',
  method: 'GET',
  path: '/healthz',
  headers: {},
  status: null,
  bodyContains: null,
  json: null,
  maxLatencyMs: null,
  timeoutMs: 5_000,
};
const NO_COMMAND = { command: null, commandTimeoutMs: 300_000 };

test('verify is read as a list of checks or as { checks, command, timeout }', () => {
  const cases: { desc: string; verify: unknown; want: VerifyConfig }[] = [
    { desc: 'absent', verify: null, want: { checks: [], ...NO_COMMAND } },
    { desc: 'an empty list', verify: [], want: { checks: [], ...NO_COMMAND } },
    { desc: 'a path only', verify: [{ path: '/healthz' }], want: { checks: [CHECK], ...NO_COMMAND } },
    {
      desc: 'every key of a check',
      verify: [{
        name: 'version is live',
        method: 'post',
        path: '/version?full=1',
        headers: { 'X-Probe': 'cutover', Accept: 'application/json' },
        status: 201,
        bodyContains: '{{version}}',
        json: { 'build.version': '{{ version }}', 'items.0.ok': true, count: 3, gone: null },
        maxLatency: '500ms',
        timeout: '2s',
      }],
      want: {
        checks: [{
          name: 'version is live',
          method: 'POST',
          path: '/version?full=1',
          headers: { 'X-Probe': 'cutover', Accept: 'application/json' },
          status: 201,
          bodyContains: '{{version}}',
          json: { 'build.version': '{{ version }}', 'items.0.ok': true, count: 3, gone: null },
          maxLatencyMs: 500,
          timeoutMs: 2_000,
        }],
        ...NO_COMMAND,
      },
    },
    {
      desc: 'the long form',
      verify: { checks: [{ path: '/healthz' }], command: './smoke.sh', timeout: '10m' },
      want: { checks: [CHECK], command: './smoke.sh', commandTimeoutMs: 600_000 },
    },
    { desc: 'a command only', verify: { command: 'npm run e2e' }, want: { checks: [], command: 'npm run e2e', commandTimeoutMs: 300_000 } },
    { desc: 'a name from the method and path', verify: [{ method: 'HEAD', path: '/' }], want: { checks: [{ ...CHECK, name: 'HEAD /', method: 'HEAD', path: '/' }], ...NO_COMMAND } },
  ];
  for (const { desc, verify, want } of cases) assert.deepEqual(webApp({ verify }).verify, want, desc);
});

test('bad checks list every problem by their path', () => {
  const at = 'apps.web.verify';
  const cases: { desc: string; verify: unknown; want: ConfigProblem[] }[] = [
    { desc: 'a string', verify: './smoke.sh', want: [{ path: at, message: 'must be a list of checks, or { checks: [...], command: ./smoke.sh }' }] },
    { desc: 'a check as a string', verify: ['/healthz'], want: [{ path: `${at}[0]`, message: 'must be a check like { path: /version, status: 200 }' }] },
    { desc: 'no path', verify: [{ status: 200 }], want: [{ path: `${at}[0]`, message: 'needs a path, like { path: /healthz }' }] },
    { desc: 'a relative path', verify: [{ path: 'healthz' }], want: [{ path: `${at}[0].path`, message: 'must be a URL path starting with a single /, like /version' }] },
    { desc: 'a path to another host', verify: [{ path: '//evil.example/x' }], want: [{ path: `${at}[0].path`, message: 'must be a URL path starting with a single /, like /version' }] },
    { desc: 'an unknown method', verify: [{ path: '/', method: 'FETCH' }], want: [{ path: `${at}[0].method`, message: 'must be one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS' }] },
    { desc: 'a status out of range', verify: [{ path: '/', status: 99 }], want: [{ path: `${at}[0].status`, message: 'must be a whole number from 100 to 599' }] },
    { desc: 'a status as text', verify: [{ path: '/', status: '2xx' }], want: [{ path: `${at}[0].status`, message: 'must be a whole number from 100 to 599' }] },
    {
      desc: 'bad headers',
      verify: [{ path: '/', headers: { 'bad header': 'x', 'x-ok': 'a\r\nb' } }],
      want: [
        { path: `${at}[0].headers.bad header`, message: 'is not a valid header name: use letters, digits and - only' },
        { path: `${at}[0].headers.x-ok`, message: 'must not contain line breaks' },
      ],
    },
    {
      desc: 'a misspelt placeholder in bodyContains',
      verify: [{ path: '/', bodyContains: 'v={{verion}}' }],
      want: [{ path: `${at}[0].bodyContains`, message: 'uses {{verion}}, which is not a template variable; did you mean {{version}}?' }],
    },
    {
      desc: 'a placeholder only instances have',
      verify: [{ path: '/', bodyContains: '{{port}}' }],
      want: [{ path: `${at}[0].bodyContains`, message: 'uses {{port}}, which is not a template variable; the variables here are {{version}}, {{env}}' }],
    },
    {
      desc: 'bad json expectations',
      verify: [{ path: '/', json: { 'a..b': 1, list: [1], 'b.c': { d: 1 }, v: '{{x}}' } }],
      want: [
        { path: `${at}[0].json.a..b`, message: 'is not a dotted path like build.version or items.0.id' },
        { path: `${at}[0].json.list`, message: 'must be a single value (a string, number, true, false or null), not a list or mapping' },
        { path: `${at}[0].json.b.c`, message: 'must be a single value (a string, number, true, false or null), not a list or mapping' },
        { path: `${at}[0].json.v`, message: 'uses {{x}}, which is not a template variable; the variables here are {{version}}, {{env}}' },
      ],
    },
    { desc: 'empty json', verify: [{ path: '/', json: {} }], want: [{ path: `${at}[0].json`, message: 'must map dotted paths to the values they must have, like { version: "{{version}}" }' }] },
    {
      desc: 'a latency limit the timeout ends first',
      verify: [{ path: '/', maxLatency: '5s' }],
      want: [{ path: `${at}[0].maxLatency`, message: "must be shorter than the check's timeout (5s), which would end it first" }],
    },
    { desc: 'a zero timeout', verify: [{ path: '/', timeout: 0 }], want: [{ path: `${at}[0].timeout`, message: 'must be longer than 0' }] },
    { desc: 'an unknown key in a check', verify: [{ path: '/', body: 'x' }], want: [{ path: `${at}[0].body`, message: 'unknown key; expected one of `name`, `method`, `path`, `headers`, `status`, `bodyContains`, `json`, `maxLatency`, `timeout`' }] },
    { desc: 'checks not a list', verify: { checks: { path: '/' } }, want: [{ path: `${at}.checks`, message: 'must be a list of checks, like [{ path: /healthz, status: 200 }]' }] },
    { desc: 'an empty command', verify: { command: '' }, want: [{ path: `${at}.command`, message: 'must not be empty' }] },
    { desc: 'an unknown key in the long form', verify: { check: [] }, want: [{ path: `${at}.check`, message: 'unknown key; did you mean `checks`?' }] },
    {
      desc: 'the second check is named by its index',
      verify: { checks: [{ path: '/' }, { path: '/x', status: 600 }] },
      want: [{ path: `${at}.checks[1].status`, message: 'must be a whole number from 100 to 599' }],
    },
  ];
  for (const { desc, verify, want } of cases) assert.deepEqual(webProblems({ verify }), want, desc);
});
