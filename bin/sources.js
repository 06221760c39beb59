// Where bin/ loads cutover from: the compiled dist/ when it is newer than every file under src/, else the
// TypeScript sources through tsx. A build never runs stale code, and a checkout without one still runs.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;

/** Imports cutover's module `name` (a path under src/ without extension, like `cli/main`). */
export async function importSource(name) {
  if (distIsFresh()) return import(join(root, 'dist', `${name}.js`));
  const { register } = await import('tsx/esm/api');
  register();
  return import(join(root, 'src', `${name}.ts`));
}

function distIsFresh() {
  let built;
  try {
    built = statSync(join(root, 'dist', '.built')).mtimeMs;
  } catch {
    return false;
  }
  return newestUnder(join(root, 'src')) < built;
}

function newestUnder(dir) {
  let newest = statSync(dir).mtimeMs;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestUnder(path) : statSync(path).mtimeMs);
  }
  return newest;
}
