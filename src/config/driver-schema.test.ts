import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ConfigProblem } from '../core/errors.ts';
import type { DriverConfig } from './config.ts';
import { validateConfig } from './schema.ts';
import { TEST_BASE_DIR, webApp, webProblems } from './schema-testing.ts';

const PROCESS_DEFAULTS = { kind: 'process', cwd: null, instances: 1, env: {}, stopGraceMs: 10_000, baseDir: TEST_BASE_DIR };

test('driver.process is read with its defaults', () => {
  const cases: { desc: string; process: unknown; want: DriverConfig }[] = [
    { desc: 'a command only', process: { command: 'node app.js' }, want: { ...PROCESS_DEFAULTS, command: 'node app.js' } as DriverConfig },
    {
      desc: 'every key',
      process: {
        command: 'node server.js --port {{port}}',
        cwd: './releases/{{version}}',
        instances: 4,
        env: { NODE_ENV: 'production', WORKERS: 2, DEBUG: false, INSTANCE: '{{ instance }}' },
        stopGrace: '30s',
      },
      want: {
        kind: 'process',
        command: 'node server.js --port {{port}}',
        cwd: './releases/{{version}}',
        instances: 4,
        env: { NODE_ENV: 'production', WORKERS: '2', DEBUG: 'false', INSTANCE: '{{ instance }}' },
        stopGraceMs: 30_000,
        baseDir: TEST_BASE_DIR,
      },
    },
    { desc: 'a stop grace of zero kills at once', process: { command: 'x', stopGrace: 0 }, want: { ...PROCESS_DEFAULTS, command: 'x', stopGraceMs: 0 } as DriverConfig },
    { desc: 'braces that are not placeholders', process: { command: "echo '{\"a\":{}}' {{ not one }}" }, want: { ...PROCESS_DEFAULTS, command: "echo '{\"a\":{}}' {{ not one }}" } as DriverConfig },
  ];
  for (const { desc, process, want } of cases) assert.deepEqual(webApp({ driver: { process } }).driver, want, desc);
});

test('the process driver runs from the config file folder, or the working directory without a file', () => {
  const result = validateConfig({ apps: { web: { driver: { process: { command: 'x' } } } } });
  assert.ok(result.ok);
  assert.equal((result.config.apps.web!.driver as { baseDir: string }).baseDir, process.cwd());
});

test('a bad process driver lists every problem by its path', () => {
  const at = 'apps.web.driver';
  const cases: { desc: string; driver: unknown; want: ConfigProblem[] }[] = [
    { desc: 'no command', driver: { process: { instances: 2 } }, want: [{ path: `${at}.process`, message: 'needs a command to run, like { command: node server.js }' }] },
    { desc: 'no settings at all', driver: { process: null }, want: [{ path: `${at}.process`, message: 'needs a command to run, like { command: node server.js }' }] },
    { desc: 'driver: process', driver: 'process', want: [{ path: at, message: 'process needs a command, like driver: { process: { command: node server.js } }' }] },
    { desc: 'an empty command', driver: { process: { command: ' ' } }, want: [{ path: `${at}.process.command`, message: 'must not be empty' }] },
    { desc: 'a list as command', driver: { process: { command: ['node', 'a.js'] } }, want: [{ path: `${at}.process.command`, message: 'must be a string' }] },
    {
      desc: 'a misspelt placeholder',
      driver: { process: { command: 'node a.js', cwd: './releases/{{verison}}' } },
      want: [{ path: `${at}.process.cwd`, message: 'uses {{verison}}, which is not a template variable; did you mean {{version}}?' }],
    },
    {
      desc: 'an unknown placeholder',
      driver: { process: { command: 'run {{secret}}' } },
      want: [{ path: `${at}.process.command`, message: 'uses {{secret}}, which is not a template variable; the variables here are {{version}}, {{env}}, {{port}}, {{instance}}' }],
    },
    {
      desc: 'instances out of range',
      driver: { process: { command: 'x', instances: 65 } },
      want: [{ path: `${at}.process.instances`, message: 'must be a whole number from 1 to 64' }],
    },
    { desc: 'zero instances', driver: { process: { command: 'x', instances: 0 } }, want: [{ path: `${at}.process.instances`, message: 'must be a whole number from 1 to 64' }] },
    {
      desc: 'bad env',
      driver: { process: { command: 'x', env: { '1X': 'a', PORT: '80', LIST: [1], OK: '{{color}}' } } },
      want: [
        { path: `${at}.process.env.1X`, message: 'is not a valid variable name: use letters, digits and _, not starting with a digit' },
        { path: `${at}.process.env.PORT`, message: 'is set by cutover for each instance; use {{port}} elsewhere if the app needs it twice' },
        { path: `${at}.process.env.LIST`, message: 'must be a string' },
        { path: `${at}.process.env.OK`, message: 'uses {{color}}, which is not a template variable; the variables here are {{version}}, {{env}}, {{port}}, {{instance}}' },
      ],
    },
    { desc: 'env as a list', driver: { process: { command: 'x', env: ['A=1'] } }, want: [{ path: `${at}.process.env`, message: 'must be a mapping of names to strings' }] },
    { desc: 'a bare stop grace', driver: { process: { command: 'x', stopGrace: 10 } }, want: [{ path: `${at}.process.stopGrace`, message: 'has no unit; write 10s or 10ms' }] },
    { desc: 'an unknown key', driver: { process: { command: 'x', instance: 2 } }, want: [{ path: `${at}.process.instance`, message: 'unknown key; did you mean `instances`?' }] },
    {
      desc: 'two drivers',
      driver: { static: {}, process: { command: 'x' } },
      want: [{ path: at, message: 'must name one driver, not 2' }],
    },
  ];
  for (const { desc, driver, want } of cases) assert.deepEqual(webProblems({ driver }), want, desc);
});
