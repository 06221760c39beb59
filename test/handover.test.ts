// Restarting cutover itself without a gap: SIGUSR2 hands the listening sockets to a new cutover process, which
// takes over state, lock and health; the old one finishes what it has in flight. Under load, nothing fails.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { callApi, configText, deploy, eventually, spawnServe, tempDir, WEB_APP } from './support/cutover-harness.ts';
import { countBy, runLoad } from './support/load.ts';
import { startUpstream } from './support/upstream.ts';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

test('three in-place restarts under load (50 clients, 15 s): zero failed requests; state and route carried over', async (t) => {
  const dir = tempDir(t);
  const config = join(dir, 'cutover.yaml');
  writeFileSync(config, configText(dir, WEB_APP));
  const first = await spawnServe(t, config);
  const app = await startUpstream(t, 'v1');
  await deploy(first, 'v1', [app.url]);
  const lockFile = join(dir, 'cutover.db.lock');
  const owner = () => Number(readFileSync(lockFile, 'utf8'));
  const pids = [first.child.pid!];
  let last = first.child.pid!;
  t.after(() => {
    for (const pid of [...pids, last]) if (alive(pid)) process.kill(pid, 'SIGKILL');
  });

  const load = runLoad({ url: first.proxyUrl, clients: 50, durationMs: 15_000 });
  for (let i = 0; i < 3; i++) {
    await new Promise((r) => setTimeout(r, 3_000));
    const before = owner();
    process.kill(before, 'SIGUSR2');
    await eventually(() => owner() !== before, 20_000, `a successor of ${before}`);
    last = owner();
    pids.push(last);
    await eventually(() => !alive(before), 20_000, `${before} to finish and exit`);
  }
  const samples = await load;
  const outcomes = countBy(samples, (s) => (s.error ? `error: ${s.error}` : String(s.status)));
  t.diagnostic(`${samples.length} requests over 3 hand-overs (pids ${pids.join(' → ')}): ${JSON.stringify(outcomes)}`);
  assert.deepEqual(Object.keys(outcomes), ['200']);

  const status = await callApi<{ live: string; envs: { blue: { version: string } } }>(first.adminUrl, 'GET', '/api/apps/web');
  assert.deepEqual([status.body.live, status.body.envs.blue.version], ['blue', 'v1'], 'the admin API moved too, with the state');
  assert.equal(await (await request(first.proxyUrl)).body.text(), 'v1');
});
