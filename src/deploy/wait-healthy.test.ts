import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { HealthView } from '../health/health-view.ts';
import { waitForHealthy } from './wait-healthy.ts';

const never: HealthView = { isHealthy: () => false, lastError: () => 'connection refused' } as unknown as HealthView;

test('a wait cut short says why: the reason its stop gave, or that cutover was stopped', async () => {
  const removed = new AbortController();
  removed.abort(new Error('the app was removed from the config by a reload'));
  assert.equal(await waitForHealthy(never, 'web', 'green', ['http://127.0.0.1:1'], 5_000, removed.signal), 'the app was removed from the config by a reload while waiting for the targets to become healthy');
  const stopped = new AbortController();
  stopped.abort();
  assert.equal(await waitForHealthy(never, 'web', 'green', ['http://127.0.0.1:1'], 5_000, stopped.signal), 'cutover was stopped while waiting for the targets to become healthy');
});

test('targets not healthy by the deadline are named with their last error', async () => {
  const why = await waitForHealthy(never, 'web', 'green', ['http://127.0.0.1:1'], 50, new AbortController().signal);
  assert.equal(why, 'not healthy within 0.05s: http://127.0.0.1:1 (connection refused)');
});
