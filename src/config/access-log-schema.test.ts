import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ConfigProblem } from '../core/errors.ts';
import { readAccessLog, type AccessLogConfig } from './access-log-schema.ts';
import { ConfigReader } from './reader.ts';
import { TEST_BASE_DIR } from './schema-testing.ts';

function read(raw: unknown): { config: AccessLogConfig | null; problems: readonly ConfigProblem[] } {
  const r = new ConfigReader();
  const config = readAccessLog(raw, TEST_BASE_DIR, r);
  return { config, problems: r.problems };
}

test('the access log is off, stdout, or a file relative to the config', () => {
  const cases: { desc: string; raw: unknown; want: AccessLogConfig | null }[] = [
    { desc: 'absent: off', raw: undefined, want: null },
    { desc: 'an empty key: off', raw: null, want: null },
    { desc: 'stdout', raw: 'stdout', want: { path: null } },
    { desc: 'a relative file', raw: { path: './access.log' }, want: { path: `${TEST_BASE_DIR}/access.log` } },
    { desc: 'an absolute file', raw: { path: '/var/log/cutover/access.log' }, want: { path: '/var/log/cutover/access.log' } },
  ];
  for (const c of cases) assert.deepEqual(read(c.raw), { config: c.want, problems: [] }, c.desc);
});

test('a bad access log setting names its path and says what fits', () => {
  const cases: { desc: string; raw: unknown; want: ConfigProblem[] }[] = [
    { desc: 'a bare file name', raw: './logs/access.log', want: [{ path: 'accessLog', message: 'must be stdout, or { path: ./logs/access.log } for a file' }] },
    { desc: 'a list', raw: ['stdout'], want: [{ path: 'accessLog', message: 'must be stdout, or { path: ./access.log } for a file' }] },
    { desc: 'true', raw: true, want: [{ path: 'accessLog', message: 'must be stdout, or { path: ./access.log } for a file' }] },
    { desc: 'no path', raw: {}, want: [{ path: 'accessLog', message: 'needs a path, like { path: ./access.log }' }] },
    { desc: 'an empty path', raw: { path: ' ' }, want: [{ path: 'accessLog.path', message: 'must not be empty' }] },
    { desc: 'a misspelt key', raw: { pth: './a.log' }, want: [
      { path: 'accessLog.pth', message: 'unknown key; did you mean `path`?' },
      { path: 'accessLog', message: 'needs a path, like { path: ./access.log }' },
    ] },
  ];
  for (const c of cases) assert.deepEqual(read(c.raw), { config: null, problems: c.want }, c.desc);
});
