import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConnectionPool } from './connection-pool.ts';
import { PoolGeneration, type Drainable } from './pool-generation.ts';

/** Something in flight that records whether the drain ended it. */
function inFlight(name: string, ended: string[]): Drainable {
  return { endGracefully: () => ended.push(name) };
}

test('a drain ends exactly what is still in flight on the generation, once the drain time is over', async (t) => {
  const server = createServer((_req, res) => res.end('ok')).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  t.after(() => server.close());
  const generation = new PoolGeneration(new ConnectionPool(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, { connections: 4 }));
  const ended: string[] = [];
  const entries = ['first', 'second', 'third', 'fourth'].map((name) => generation.active.add(inFlight(name, ended)));
  entries[1]!.remove();
  entries[3]!.remove();
  assert.equal(generation.active.size, 2);

  const drained = generation.drain(50, 0);
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(ended, [], 'nothing is ended before the drain time');
  // What finishes on its own during the drain is not ended either.
  entries[0]!.remove();
  await drained;
  assert.deepEqual(ended, ['third']);
});
