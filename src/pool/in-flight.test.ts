import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InFlight } from './in-flight.ts';

test('entries come out from anywhere in the list, once', () => {
  const list = new InFlight<string>();
  const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((item) => list.add(item));
  assert.deepEqual(list.items(), ['d', 'c', 'b', 'a']);
  b!.remove();
  assert.deepEqual(list.items(), ['d', 'c', 'a']);
  d!.remove();
  assert.deepEqual(list.items(), ['c', 'a']);
  a!.remove();
  a!.remove();
  assert.deepEqual(list.items(), ['c']);
  assert.equal(list.size, 1);
  c!.remove();
  assert.deepEqual(list.items(), []);
  assert.equal(list.size, 0);
});

test('a removed entry points nowhere, so a dead one keeps no other request alive', () => {
  const list = new InFlight<number>();
  const first = list.add(1);
  const second = list.add(2);
  list.add(3);
  second.remove();
  assert.equal(second.next, null);
  assert.equal(second.previous, null);
  assert.deepEqual(list.items(), [3, 1]);
  first.remove();
  assert.deepEqual(list.items(), [3]);
});

test('items() is a copy: removing while iterating it skips nothing', () => {
  const list = new InFlight<number>();
  const entries = Array.from({ length: 5 }, (_, i) => list.add(i));
  const seen: number[] = [];
  for (const item of list.items()) {
    seen.push(item);
    entries[item]!.remove();
  }
  assert.deepEqual(seen, [4, 3, 2, 1, 0]);
  assert.equal(list.size, 0);
});
