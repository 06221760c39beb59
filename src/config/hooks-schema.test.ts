import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ConfigProblem } from '../core/errors.ts';
import type { HooksConfig, WebhooksConfig } from './config.ts';
import { TEST_BASE_DIR, webApp, webProblems } from './schema-testing.ts';

test('hooks are read with their timeout, run from the config folder', () => {
  const cases: { desc: string; hooks: unknown; want: HooksConfig }[] = [
    { desc: 'absent', hooks: undefined, want: { commands: {}, timeoutMs: 60_000, cwd: TEST_BASE_DIR } },
    {
      desc: 'every hook',
      hooks: {
        preDeploy: './fetch.sh', preSwitch: './migrate.sh', postSwitch: 'echo ok', onRollback: './undo.sh',
        onFailure: './page.sh', timeout: '10m',
      },
      want: {
        commands: {
          preDeploy: './fetch.sh', preSwitch: './migrate.sh', postSwitch: 'echo ok', onRollback: './undo.sh',
          onFailure: './page.sh',
        },
        timeoutMs: 600_000,
        cwd: TEST_BASE_DIR,
      },
    },
    { desc: 'one hook', hooks: { preSwitch: './migrate.sh' }, want: { commands: { preSwitch: './migrate.sh' }, timeoutMs: 60_000, cwd: TEST_BASE_DIR } },
  ];
  for (const { desc, hooks, want } of cases) assert.deepEqual(webApp({ hooks }).hooks, want, desc);
});

test('webhooks are a list of URLs or { urls, timeout, retries }', () => {
  const url = 'https://hooks.example.com/deploys';
  const cases: { desc: string; webhooks: unknown; want: WebhooksConfig }[] = [
    { desc: 'absent', webhooks: undefined, want: { urls: [], timeoutMs: 5_000, retries: 3 } },
    { desc: 'a list', webhooks: [url, 'http://127.0.0.1:9000/x'], want: { urls: [url, 'http://127.0.0.1:9000/x'], timeoutMs: 5_000, retries: 3 } },
    { desc: 'the long form', webhooks: { urls: [url], timeout: '2s', retries: 0 }, want: { urls: [url], timeoutMs: 2_000, retries: 0 } },
  ];
  for (const { desc, webhooks, want } of cases) assert.deepEqual(webApp({ webhooks }).webhooks, want, desc);
});

test('bad hooks and webhooks list every problem by their path', () => {
  const cases: { desc: string; app: Record<string, unknown>; want: ConfigProblem[] }[] = [
    { desc: 'a misspelt hook', app: { hooks: { preswitch: 'x' } }, want: [{ path: 'apps.web.hooks.preswitch', message: 'unknown key; did you mean `preSwitch`?' }] },
    { desc: 'an empty hook', app: { hooks: { postSwitch: '' } }, want: [{ path: 'apps.web.hooks.postSwitch', message: 'must not be empty' }] },
    { desc: 'a hook as a list', app: { hooks: { postSwitch: ['a', 'b'] } }, want: [{ path: 'apps.web.hooks.postSwitch', message: 'must be a string' }] },
    { desc: 'a zero timeout', app: { hooks: { timeout: 0 } }, want: [{ path: 'apps.web.hooks.timeout', message: 'must be longer than 0' }] },
    { desc: 'hooks as a list', app: { hooks: ['./a.sh'] }, want: [{ path: 'apps.web.hooks', message: 'must be a mapping of keys to values' }] },
    { desc: 'one URL as a string', app: { webhooks: 'https://x.example' }, want: [{ path: 'apps.web.webhooks', message: 'must be a list of URLs, like [https://hooks.example.com/deploys]' }] },
    {
      desc: 'bad URLs',
      app: { webhooks: ['hooks.example.com', 'ftp://x.example/', 42, 'https://a.example/', 'https://a.example/'] },
      want: [
        { path: 'apps.web.webhooks[0]', message: 'is not a URL, like https://hooks.example.com/deploys' },
        { path: 'apps.web.webhooks[1]', message: 'must be an http:// or https:// URL' },
        { path: 'apps.web.webhooks[2]', message: 'must be a URL, like https://hooks.example.com/deploys' },
        { path: 'apps.web.webhooks[4]', message: 'is listed twice' },
      ],
    },
    { desc: 'no urls in the long form', app: { webhooks: { retries: 1 } }, want: [{ path: 'apps.web.webhooks', message: 'needs urls, like { urls: [https://hooks.example.com/deploys] }' }] },
    { desc: 'urls as a string', app: { webhooks: { urls: 'https://a.example/' } }, want: [{ path: 'apps.web.webhooks.urls', message: 'must be a list of URLs, like [https://hooks.example.com/deploys]' }] },
    { desc: 'too many retries', app: { webhooks: { urls: [], retries: 11 } }, want: [{ path: 'apps.web.webhooks.retries', message: 'must be a whole number from 0 to 10' }] },
    { desc: 'a bad URL in the long form', app: { webhooks: { urls: ['nope'] } }, want: [{ path: 'apps.web.webhooks.urls[0]', message: 'is not a URL, like https://hooks.example.com/deploys' }] },
  ];
  for (const { desc, app, want } of cases) assert.deepEqual(webProblems(app), want, desc);
});
