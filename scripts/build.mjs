#!/usr/bin/env node
// `npm run build` (also run by `npm ci` through `prepare`, and by `npm test`): compiles src/ to dist/ with tsc and
// copies the dashboard's static files. bin/ runs dist/ while it is newer than every file under src/ it compiles,
// and the TypeScript sources through tsx otherwise, so a stale or missing build is never run (see bin/sources.js).
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const dist = join(root, 'dist');
const tsc = join(root, 'node_modules', '.bin', 'tsc');

if (!existsSync(tsc)) {
  // An install without dev dependencies: cutover runs from the sources through tsx.
  console.error('build: typescript is not installed; cutover will run its sources through tsx');
  process.exit(0);
}
rmSync(dist, { recursive: true, force: true });
const compiled = spawnSync(tsc, ['-p', join(root, 'tsconfig.build.json')], { cwd: root, stdio: 'inherit' });
if (compiled.status !== 0) {
  rmSync(dist, { recursive: true, force: true });
  console.error('build: tsc failed; nothing was built');
  process.exit(1);
}
cpSync(join(root, 'src', 'dashboard'), join(dist, 'dashboard'), { recursive: true });
// Written last: its time is what bin/sources.js compares with the sources'.
writeFileSync(join(dist, '.built'), `${new Date().toISOString()}\n`);
