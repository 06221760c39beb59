// Helpers for the schema tests: validate one app's settings and get either its AppConfig or the problems.

import assert from 'node:assert/strict';
import type { ConfigProblem } from '../core/errors.ts';
import type { AppConfig } from './config.ts';
import { validateConfig } from './schema.ts';

export const TEST_SOURCE = '/etc/cutover/cutover.yaml';
export const TEST_BASE_DIR = '/etc/cutover';

/** The app `web` read from `settings`, which must be valid. */
export function webApp(settings: Record<string, unknown>, top: Record<string, unknown> = {}): AppConfig {
  const result = validateConfig({ ...top, apps: { web: settings } }, { source: TEST_SOURCE });
  if (!result.ok) assert.fail(`expected a valid app, got:\n${JSON.stringify(result.problems, null, 2)}`);
  return result.config.apps.web!;
}

/** Every problem of a config whose only app, `web`, has `settings`. */
export function webProblems(settings: Record<string, unknown>, top: Record<string, unknown> = {}): readonly ConfigProblem[] {
  const result = validateConfig({ ...top, apps: { web: settings } }, { source: TEST_SOURCE });
  return result.ok ? [] : result.problems;
}
