import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatLine } from './line-format.ts';

const AT = new Date(2026, 0, 15, 16, 2, 11).getTime(); // local time, as the line shows it
const plain = { colour: false };

test('a record reads as time, level, part, message and the other fields', () => {
  const cases: { desc: string; record: Record<string, unknown>; want: string }[] = [
    {
      desc: 'the usual line',
      record: { level: 30, time: AT, name: 'cutover', part: 'controller', msg: 'switch: green is live', app: 'web', from: 'blue' },
      want: '16:02:11 INFO  controller switch: green is live app=web from=blue',
    },
    {
      desc: 'no part, a warning',
      record: { level: 40, time: AT, name: 'cutover', msg: 'target unhealthy', target: 'http://127.0.0.1:3001', reason: 'HTTP 503' },
      want: '16:02:11 WARN  target unhealthy target=http://127.0.0.1:3001 reason="HTTP 503"',
    },
    {
      desc: 'numbers, booleans, null, lists and objects',
      record: { level: 20, time: AT, msg: 'config reloaded', added: ['api'], removed: [], ok: true, n: 3, until: null, o: { a: 1 } },
      want: '16:02:11 DEBUG config reloaded added=["api"] removed=[] ok=true n=3 until=null o={"a":1}',
    },
    {
      desc: 'text that needs quotes: spaces, quotes, equals, empty',
      record: { level: 50, time: AT, msg: 'x', a: 'two words', b: 'say "hi"', c: 'k=v', d: '' },
      want: '16:02:11 ERROR x a="two words" b="say \\"hi\\"" c="k=v" d=""',
    },
    {
      desc: 'pid and hostname are left out',
      record: { level: 60, time: AT, pid: 42, hostname: 'box', msg: 'down' },
      want: '16:02:11 FATAL down',
    },
  ];
  for (const c of cases) assert.equal(formatLine(c.record, plain), c.want, c.desc);
});

test('an error shows its message in the line and its stack below', () => {
  const err = { type: 'Error', message: 'listen EADDRINUSE', stack: 'Error: listen EADDRINUSE\n    at Server.listen (net.js:1:1)\n    at main (main.ts:2:2)' };
  const line = formatLine({ level: 50, time: AT, msg: 'could not start', err }, plain);
  assert.equal(line, '16:02:11 ERROR could not start err="listen EADDRINUSE"\n    at Server.listen (net.js:1:1)\n    at main (main.ts:2:2)');
});

test('colours mark the level, and are left out when off', () => {
  const record = { level: 50, time: AT, part: 'proxy', msg: 'boom', app: 'web' };
  const coloured = formatLine(record, { colour: true });
  assert.match(coloured, /\x1b\[31mERROR/);
  assert.match(coloured, /\x1b\[36mproxy\x1b\[0m/);
  assert.equal(coloured.replace(/\x1b\[[\d;]*m/g, ''), formatLine(record, plain));
  assert.doesNotMatch(formatLine(record, plain), /\x1b/);
});
