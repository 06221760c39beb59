import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { silentLogger } from '../core/logger.ts';
import type { Cutover } from '../main.ts';
import { ServeSignals } from './serve-signals.ts';

/** What ServeSignals calls on a serving cutover, recorded. */
function fakeCutover(calls: string[]): Cutover {
  return {
    log: silentLogger,
    stop: async () => void calls.push('stop'),
    reloadBySignal: async () => void calls.push('reload'),
  } as unknown as Cutover;
}

const settled = (p: Promise<void>) => Promise.race([p.then(() => true), new Promise((r) => setTimeout(() => r(false), 50))]);

test('a stop asked while cutover starts is done once it serves, not by ending the process', async () => {
  const source = new EventEmitter();
  const signals = new ServeSignals('cutover.yaml', source);
  const calls: string[] = [];
  source.emit('SIGTERM');
  source.emit('SIGHUP');
  assert.deepEqual(calls, []);
  assert.equal(await settled(signals.stopped), false, 'still starting: nothing to stop yet');
  signals.serving(fakeCutover(calls));
  assert.deepEqual(calls, ['stop'], 'the stop wins over the reload asked after it');
  assert.equal(await settled(signals.stopped), true);
});

test('a reload asked while cutover starts re-reads the config once it serves; later ones at once', async () => {
  const source = new EventEmitter();
  const signals = new ServeSignals('cutover.yaml', source);
  const calls: string[] = [];
  source.emit('SIGHUP');
  source.emit('SIGHUP');
  signals.serving(fakeCutover(calls));
  assert.deepEqual(calls, ['reload'], 'two while starting: one reload');
  source.emit('SIGHUP');
  assert.deepEqual(calls, ['reload', 'reload']);
  source.emit('SIGINT');
  assert.deepEqual(calls, ['reload', 'reload', 'stop']);
  assert.equal(await settled(signals.stopped), true);
});

test('a restart in place asked while cutover starts is refused, and the start goes on', async () => {
  const source = new EventEmitter();
  const signals = new ServeSignals('cutover.yaml', source);
  const calls: string[] = [];
  source.emit('SIGUSR2');
  signals.serving(fakeCutover(calls));
  assert.deepEqual(calls, []);
  assert.equal(await settled(signals.stopped), false);
});
