import { test } from 'node:test';
import assert from 'node:assert/strict';
import { holdSignals, takeHeldSignals } from './early-signals.ts';

// SIGHUP and SIGUSR2 only: the test runner may listen for SIGINT and SIGTERM itself. process.emit calls the
// listeners as a delivered signal would, without sending one.
test('signals held while serve loads are given back in order, and no longer held after', () => {
  const before = process.listenerCount('SIGHUP');
  holdSignals();
  assert.equal(process.listenerCount('SIGHUP'), before + 1);
  process.emit('SIGHUP');
  process.emit('SIGUSR2');
  process.emit('SIGHUP');
  assert.deepEqual(takeHeldSignals(), ['SIGHUP', 'SIGUSR2', 'SIGHUP']);
  assert.equal(process.listenerCount('SIGHUP'), before);
  assert.deepEqual(takeHeldSignals(), [], 'taken once');
});
