import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from './logger.ts';

function output(isTTY: boolean) {
  const lines: string[] = [];
  return { lines, isTTY, write: (text: string) => void lines.push(...text.split('\n').filter(Boolean)) };
}

test('JSON lines when the output is not a terminal', () => {
  const out = output(false);
  const log = createLogger({ level: 'info', output: out });
  log.child({ part: 'controller' }).info({ app: 'web', from: 'blue' }, 'switch: green is live');
  log.debug('not at info');
  assert.equal(out.lines.length, 1);
  const record = JSON.parse(out.lines[0]!);
  assert.deepEqual({ ...record, time: 0 }, { level: 30, time: 0, name: 'cutover', part: 'controller', app: 'web', from: 'blue', msg: 'switch: green is live' });
});

test('readable lines on a terminal', () => {
  const out = output(true);
  const log = createLogger({ level: 'debug', output: out, colour: false });
  log.child({ part: 'proxy' }).warn({ app: 'web' }, 'no healthy target');
  log.debug('details');
  assert.equal(out.lines.length, 2);
  assert.match(out.lines[0]!, /^\d\d:\d\d:\d\d WARN  proxy no healthy target app=web$/);
  assert.match(out.lines[1]!, /^\d\d:\d\d:\d\d DEBUG details$/);
});

test('CUTOVER_LOG_LEVEL and CUTOVER_LOG_FORMAT are read, and refused when wrong', (t) => {
  const saved = { level: process.env.CUTOVER_LOG_LEVEL, format: process.env.CUTOVER_LOG_FORMAT };
  t.after(() => {
    for (const [key, value] of [['CUTOVER_LOG_LEVEL', saved.level], ['CUTOVER_LOG_FORMAT', saved.format]] as const) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  });
  process.env.CUTOVER_LOG_LEVEL = 'warn';
  process.env.CUTOVER_LOG_FORMAT = 'json';
  const out = output(true);
  const log = createLogger({ output: out });
  log.info('hidden');
  log.warn('shown');
  assert.deepEqual(out.lines.map((l) => JSON.parse(l).msg), ['shown'], 'json on a terminal, as asked');
  process.env.CUTOVER_LOG_LEVEL = 'loud';
  assert.throws(() => createLogger({ output: out }), /CUTOVER_LOG_LEVEL must be one of trace, debug, info, warn, error, fatal, silent \(got "loud"\)/);
  process.env.CUTOVER_LOG_LEVEL = 'info';
  process.env.CUTOVER_LOG_FORMAT = 'fancy';
  assert.throws(() => createLogger({ output: out }), /CUTOVER_LOG_FORMAT must be json or pretty/);
});
