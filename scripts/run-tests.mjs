#!/usr/bin/env node
// `npm test`: type-checks and builds (scripts/build.mjs), then runs every *.test.ts under src/ and test/ with node:test.
// Node 20's `node --test` given a directory finds nothing and exits 0, so the files are listed here, and the run
// fails when no test ran. Extra arguments narrow the run to files whose path contains one of them.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, mkdtempSync } from 'node:fs';
import { join, relative } from 'node:path';
import { tmpdir } from 'node:os';

const root = new URL('..', import.meta.url).pathname;
const filters = process.argv.slice(2);

function findTests(dir) {
  const found = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...findTests(path));
    else if (entry.name.endsWith('.test.ts')) found.push(relative(root, path));
  }
  return found;
}

const files = [...findTests(join(root, 'src')), ...findTests(join(root, 'test'))]
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();
if (files.length === 0) {
  console.error('run-tests: no test files found');
  process.exit(1);
}

if (filters.length === 0) {
  const tsc = spawnSync('npx', ['tsc', '--noEmit', '-p', '.'], { cwd: root, stdio: 'inherit' });
  if (tsc.status !== 0) {
    console.error('run-tests: type-check failed');
    process.exit(1);
  }
  // The processes tests spawn (serve, the CLI, data-path workers) run the build: it must be of these sources.
  const build = spawnSync(process.execPath, [join(root, 'scripts', 'build.mjs')], { cwd: root, stdio: 'inherit' });
  if (build.status !== 0) process.exit(1);
}

const tap = join(mkdtempSync(join(tmpdir(), 'cutover-tests-')), 'results.tap');
const run = spawnSync(
  process.execPath,
  [
    '--import', 'tsx',
    '--test',
    '--test-concurrency=2',
    // A test that hangs fails by name instead of holding the run (and CI) up.
    '--test-timeout=180000',
    '--test-reporter=spec', '--test-reporter-destination=stdout',
    '--test-reporter=tap', `--test-reporter-destination=${tap}`,
    ...files,
  ],
  { cwd: root, stdio: 'inherit', env: { ...process.env, CUTOVER_LOG_LEVEL: process.env.CUTOVER_LOG_LEVEL ?? 'silent' } },
);
const summary = readFileSync(tap, 'utf8');
const count = (name) => Number((summary.match(new RegExp(`^# ${name} (\\d+)$`, "m")) ?? [])[1] ?? 0);
const passed = count('pass');
const failed = count('fail');
const cancelled = count('cancelled');
console.log(`run-tests: ${files.length} files, ${passed} passed, ${failed} failed, ${cancelled} cancelled`);
if (run.status !== 0 || failed > 0 || cancelled > 0) process.exit(1);
if (passed === 0) {
  console.error('run-tests: no test ran');
  process.exit(1);
}
