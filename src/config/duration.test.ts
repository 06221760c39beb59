import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDuration, parseDuration } from './duration.ts';

test('parseDuration reads every unit, fractions, sequences and plain milliseconds', () => {
  const cases: { desc: string; input: string | number; ms: number }[] = [
    { desc: 'milliseconds', input: '800ms', ms: 800 },
    { desc: 'seconds', input: '2s', ms: 2_000 },
    { desc: 'fractional minutes', input: '1.5m', ms: 90_000 },
    { desc: 'hours', input: '1h', ms: 3_600_000 },
    { desc: 'a leading dot', input: '.5s', ms: 500 },
    { desc: 'a sequence', input: '1h2m3.5s', ms: 3_723_500 },
    { desc: 'zero', input: '0s', ms: 0 },
    { desc: 'surrounding spaces', input: ' 3s ', ms: 3_000 },
    { desc: 'a number is milliseconds', input: 250, ms: 250 },
    { desc: 'float noise is rounded away', input: '0.3s', ms: 300 },
    { desc: 'sub-millisecond numbers round to whole ms', input: 1.6, ms: 2 },
  ];
  for (const { desc, input, ms } of cases) assert.equal(parseDuration(input), ms, desc);
});

test('parseDuration explains what is wrong with a bad value', () => {
  const cases: { desc: string; input: string | number; error: RegExp }[] = [
    { desc: 'a word', input: 'soon', error: /"soon" is not a duration; write a number and a unit/ },
    { desc: 'no unit', input: '500', error: /"500" has no unit; write 500ms or 500s/ },
    { desc: 'an unknown unit', input: '2d', error: /not a duration/ },
    { desc: 'an upper-case unit', input: '2S', error: /not a duration/ },
    { desc: 'a space inside', input: '2 s', error: /not a duration/ },
    { desc: 'empty', input: '', error: /not a duration/ },
    { desc: 'a unit alone', input: 'ms', error: /not a duration/ },
    { desc: 'a negative string', input: '-1s', error: /negative/ },
    { desc: 'a negative number', input: -5, error: /negative/ },
    { desc: 'not a finite number', input: Number.POSITIVE_INFINITY, error: /not a duration/ },
  ];
  for (const { desc, input, error } of cases) assert.throws(() => parseDuration(input), { name: 'RangeError', message: error }, desc);
});

test('formatDuration writes the shortest form and parseDuration reads it back', () => {
  const cases: { desc: string; ms: number; text: string }[] = [
    { desc: 'zero', ms: 0, text: '0ms' },
    { desc: 'under a second', ms: 500, text: '500ms' },
    { desc: 'whole seconds', ms: 2_000, text: '2s' },
    { desc: 'fractional seconds', ms: 1_500, text: '1.5s' },
    { desc: 'minutes and seconds', ms: 90_000, text: '1m30s' },
    { desc: 'an hour', ms: 3_600_000, text: '1h' },
    { desc: 'every unit', ms: 3_723_500, text: '1h2m3.5s' },
    { desc: 'a millisecond over a second', ms: 1_001, text: '1.001s' },
  ];
  for (const { desc, ms, text } of cases) {
    assert.equal(formatDuration(ms), text, desc);
    assert.equal(parseDuration(text), ms, `${desc} round trip`);
  }
});
