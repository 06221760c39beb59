import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closestWord, keyProblems } from './keys.ts';

test('closestWord guesses the key a typo meant, and only when it is close', () => {
  const known = ['path', 'interval', 'timeout', 'healthy', 'unhealthy', 'deadline', 'upstreamConnect'];
  const cases: { desc: string; word: string; want: string | undefined }[] = [
    { desc: 'a missing letter', word: 'intervl', want: 'interval' },
    { desc: 'swapped letters', word: 'timoeut', want: 'timeout' },
    { desc: 'snake case', word: 'upstream_connect', want: 'upstreamConnect' },
    { desc: 'another case', word: 'DEADLINE', want: 'deadline' },
    { desc: 'the nearest of two', word: 'helthy', want: 'healthy' },
    { desc: 'nothing close', word: 'colour', want: undefined },
    { desc: 'a short word far off', word: 'x', want: undefined },
  ];
  for (const { desc, word, want } of cases) assert.equal(closestWord(word, known), want, desc);
});

test('keyProblems names unknown and not-yet-built keys by path', () => {
  const spec = { known: ['hosts', 'drain'], notBuilt: ['preview'] };
  const problems = keyProblems({ hosts: [], drian: '1s', preview: {}, zzz: 1 }, 'apps.web', spec);
  assert.deepEqual(problems, [
    { path: 'apps.web.drian', message: 'unknown key; did you mean `drain`?' },
    { path: 'apps.web.preview', message: '`preview` is not built yet in this version of cutover' },
    { path: 'apps.web.zzz', message: 'unknown key; expected one of `hosts`, `drain`' },
  ]);
});
