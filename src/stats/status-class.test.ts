import { test } from 'node:test';
import assert from 'node:assert/strict';
import { STATUS_CLASSES, statusClassIndex } from './status-class.ts';

test('every status lands in its class', () => {
  const cases: { desc: string; status: number; want: string }[] = [
    { desc: 'switching protocols', status: 101, want: '1xx' },
    { desc: 'ok', status: 200, want: '2xx' },
    { desc: 'the last 2xx', status: 299, want: '2xx' },
    { desc: 'a redirect', status: 308, want: '3xx' },
    { desc: 'not found', status: 404, want: '4xx' },
    { desc: 'the client went away', status: 499, want: 'client_closed' },
    { desc: 'an upstream error', status: 502, want: '5xx' },
    { desc: 'the last 5xx', status: 599, want: '5xx' },
    { desc: 'beyond 599', status: 600, want: 'other' },
    { desc: 'below 100', status: 99, want: 'other' },
    { desc: 'zero (no status)', status: 0, want: 'other' },
  ];
  for (const c of cases) assert.equal(STATUS_CLASSES[statusClassIndex(c.status)], c.want, c.desc);
});
