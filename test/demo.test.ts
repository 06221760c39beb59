// `npm start -- --once`: the demo runs its whole scenario on this machine and exits 0 only if no request failed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from './support/cutover-harness.ts';

test('cutover demo --once deploys v1 and v2 under load, rolls v3 back by itself, and loses no request', async () => {
  const r = await runCli(['demo', '--once', '--port', '0', '--admin-port', '0']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /switch: green \(v2\) takes all new traffic/);
  assert.match(r.stdout, /rolled-back analysis failed: error rate [\d.]+% over \d+ requests exceeds maxErrorRate 5%/);
  assert.match(r.stdout, /rollback: green \(v2\) takes all new traffic/);
  assert.match(r.stdout, /failed by cutover: 0\n/);
  assert.match(r.stdout, /demo: every switch and the rollback lost no request/);
});
