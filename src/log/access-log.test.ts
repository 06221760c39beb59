import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '../core/logger.ts';
import { silentLogger } from '../core/logger.ts';
import { AccessLog, accessLine, type AccessEntry } from './access-log.ts';

const AT = Date.UTC(2026, 0, 15, 16, 2, 11, 5);
const ENTRY: AccessEntry = { app: 'web', env: 'green', target: 'http://127.0.0.1:3001', method: 'GET', status: 200, bytes: 512, durationMs: 3.14159 };

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'cutover-access-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function linesOf(path: string): Record<string, unknown>[] {
  return readFileSync(path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
}

test('a line is one JSON object with the request\'s figures', () => {
  const cases: { desc: string; entry: AccessEntry; want: Record<string, unknown> }[] = [
    {
      desc: 'a forwarded request',
      entry: ENTRY,
      want: { time: '2026-01-15T16:02:11.005Z', app: 'web', env: 'green', target: 'http://127.0.0.1:3001', method: 'GET', status: 200, bytes: 512, durationMs: 3.142 },
    },
    {
      desc: 'no target reached, and a method that needs escaping',
      entry: { ...ENTRY, target: null, method: 'X"Y', status: 502, bytes: 0, durationMs: 0 },
      want: { time: '2026-01-15T16:02:11.005Z', app: 'web', env: 'green', target: null, method: 'X"Y', status: 502, bytes: 0, durationMs: 0 },
    },
    {
      desc: 'no app matched the Host',
      entry: { ...ENTRY, app: null, env: null, target: null, status: 404, bytes: 7, durationMs: 0.0004 },
      want: { time: '2026-01-15T16:02:11.005Z', app: null, env: null, target: null, method: 'GET', status: 404, bytes: 7, durationMs: 0 },
    },
  ];
  for (const c of cases) {
    const line = accessLine(c.entry, AT);
    assert.ok(line.endsWith('}\n') && !line.slice(0, -1).includes('\n'), c.desc);
    assert.deepEqual(JSON.parse(line), c.want, c.desc);
  }
});

test('every line reaches the file by close, appended to what was there, its folder created', async (t) => {
  const path = join(tempDir(t), 'logs', 'access.log');
  const first = new AccessLog({ path, clock: () => AT });
  first.log(ENTRY);
  await first.close();
  const log = new AccessLog({ path, clock: () => AT });
  for (let i = 0; i < 50_000; i++) log.log({ ...ENTRY, bytes: i });
  await log.close();
  log.log(ENTRY); // after close: ignored, not thrown
  const lines = linesOf(path);
  assert.equal(lines.length, 50_001);
  assert.deepEqual(lines.slice(1).map((l) => l.bytes), Array.from({ length: 50_000 }, (_, i) => i), 'in order');
  assert.equal(log.dropped, 0);
});

test('logging does not wait for the disk', async (t) => {
  const path = join(tempDir(t), 'access.log');
  const log = new AccessLog({ path });
  for (let i = 0; i < 1000; i++) log.log(ENTRY);
  // Nothing was written synchronously: the lines are still in the buffer when log() returns.
  assert.equal(readFileSync(path, 'utf8'), '');
  await log.close();
  assert.equal(linesOf(path).length, 1000);
});

test('a writer that falls behind drops whole lines, counts them and warns', async (t) => {
  const path = join(tempDir(t), 'access.log');
  const warnings: string[] = [];
  const log: Logger = { ...silentLogger, warn: ((_: object, msg: string) => void warnings.push(msg)) as Logger['warn'] };
  const access = new AccessLog({ path, maxBufferBytes: 2_000, log });
  for (let i = 0; i < 500; i++) access.log({ ...ENTRY, bytes: i });
  await access.close();
  const lines = linesOf(path); // every line whole: each parses
  assert.ok(access.dropped > 0, 'some were dropped');
  assert.equal(lines.length + access.dropped, 500);
  assert.deepEqual(warnings, ['the access log falls behind; lines are being dropped'], 'warned once, not per line');
});

test('reopen starts a new file after the old one was moved away (logrotate)', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'access.log');
  const log = new AccessLog({ path });
  log.log({ ...ENTRY, bytes: 1 });
  await new Promise((r) => setTimeout(r, 50));
  renameSync(path, join(dir, 'access.log.1'));
  log.reopen();
  log.log({ ...ENTRY, bytes: 2 });
  await log.close();
  assert.deepEqual(linesOf(join(dir, 'access.log.1')).map((l) => l.bytes), [1]);
  assert.deepEqual(linesOf(path).map((l) => l.bytes), [2]);
});

test('a path that cannot be written fails at once, with the reason', (t) => {
  const file = join(tempDir(t), 'a-file');
  writeFileSync(file, '');
  assert.throws(() => new AccessLog({ path: join(file, 'access.log') }), /ENOTDIR|EEXIST/);
});

test('to stdout, every line is out before the process exits', () => {
  const script = `
    import { AccessLog } from ${JSON.stringify(new URL('./access-log.ts', import.meta.url).pathname)};
    const log = new AccessLog({ path: null });
    for (let i = 0; i < 3000; i++) log.log({ app: 'web', env: 'blue', target: null, method: 'GET', status: 200, bytes: i, durationMs: 1 });
    await log.close();
    console.log('closed');
  `;
  const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(child.status, 0, child.stderr);
  const lines = child.stdout.split('\n').filter(Boolean);
  assert.equal(lines.at(-1), 'closed', 'the stdout stream stays usable after close');
  assert.deepEqual(lines.slice(0, -1).map((l) => JSON.parse(l).bytes), Array.from({ length: 3000 }, (_, i) => i));
});
