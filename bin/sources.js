// Where bin/ loads cutover from: the compiled dist/ when it is newer than every source it was built from, else the
// TypeScript sources through tsx. A build never runs stale code, and a checkout without one still runs.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;

/** Imports cutover's module `name` (a path under src/ without extension, like `cli/main`). */
export async function importSource(name) {
  if (buildState().fresh) return import(join(root, 'dist', `${name}.js`));
  const { register } = await import('tsx/esm/api');
  register();
  return import(join(root, 'src', `${name}.ts`));
}

/**
 * Whether dist/ may run: `builtAt` is its `.built` stamp (ms, null without a build), `fresh` whether that is newer
 * than every file the build compiles. Tests, contract suites and fixtures are left out, as tsconfig.build.json
 * leaves them out: editing a test does not make the build stale.
 */
export function buildState(dir = root) {
  let builtAt;
  try {
    builtAt = statSync(join(dir, 'dist', '.built')).mtimeMs;
  } catch {
    return { builtAt: null, fresh: false };
  }
  return { builtAt, fresh: newestSourceUnder(join(dir, 'src')) < builtAt };
}

function newestSourceUnder(dir) {
  let newest = statSync(dir).mtimeMs;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'fixtures' || /\.(test|contract)\.ts$/.test(entry.name)) continue;
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSourceUnder(path) : statSync(path).mtimeMs);
  }
  return newest;
}
