import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ConfigProblem } from '../core/errors.ts';
import type { PreviewConfig } from './config.ts';
import { validateConfig } from './schema.ts';
import { TEST_SOURCE, webApp, webProblems } from './schema-testing.ts';

const SECRET = 'a-preview-secret-of-some-length';

test('preview is read with the default header, and only with a secret', () => {
  const cases: { desc: string; preview: unknown; want: PreviewConfig | null }[] = [
    { desc: 'absent', preview: undefined, want: null },
    { desc: 'preview: with no value', preview: null, want: null },
    { desc: 'a secret only', preview: { secret: SECRET }, want: { header: 'x-cutover-preview', secret: SECRET, listen: null } },
    {
      desc: 'every key, the header in another case',
      preview: { header: 'X-Preview', secret: SECRET, listen: '127.0.0.1:8081' },
      want: { header: 'x-preview', secret: SECRET, listen: { host: '127.0.0.1', port: 8081 } },
    },
    { desc: 'port 0 never collides', preview: { secret: SECRET, listen: '127.0.0.1:0' }, want: { header: 'x-cutover-preview', secret: SECRET, listen: { host: '127.0.0.1', port: 0 } } },
  ];
  for (const { desc, preview, want } of cases) assert.deepEqual(webApp({ preview }).preview, want, desc);
});

test('a preview without a good secret, header or listener is refused', () => {
  const at = 'apps.web.preview';
  const needsSecret = { path: at, message: 'needs a secret of 16 or more characters; write secret: ${PREVIEW_SECRET} to keep it out of the file' };
  const cases: { desc: string; preview: unknown; want: ConfigProblem[] }[] = [
    { desc: 'an empty section', preview: {}, want: [needsSecret] },
    { desc: 'a header only', preview: { header: 'x-preview' }, want: [needsSecret] },
    { desc: 'an empty secret, as an empty ${PREVIEW_SECRET} gives', preview: { secret: '' }, want: [{ path: `${at}.secret`, message: 'must not be empty' }] },
    { desc: 'a short secret', preview: { secret: 'letmein' }, want: [{ path: `${at}.secret`, message: 'must be at least 16 characters long' }] },
    { desc: 'a number', preview: { secret: 12345678901234567 }, want: [{ path: `${at}.secret`, message: 'must be a string' }] },
    { desc: 'a secret with spaces', preview: { secret: 'correct horse battery staple' }, want: [{ path: `${at}.secret`, message: 'must be printable ASCII without spaces, since it travels in a header' }] },
    { desc: 'a bad header name', preview: { secret: SECRET, header: 'x preview' }, want: [{ path: `${at}.header`, message: 'is not a valid header name: use letters, digits and - only' }] },
    {
      desc: 'a header the app needs',
      preview: { secret: SECRET, header: 'Authorization' },
      want: [{ path: `${at}.header`, message: 'is a standard header that the app or proxy needs; use your own, like x-cutover-preview' }],
    },
    { desc: 'the proxy address', preview: { secret: SECRET, listen: '127.0.0.1:8080' }, want: [{ path: `${at}.listen`, message: '127.0.0.1:8080 is also listen; give the preview its own port' }] },
    { desc: 'the admin address', preview: { secret: SECRET, listen: '127.0.0.1:9900' }, want: [{ path: `${at}.listen`, message: '127.0.0.1:9900 is also admin.listen; give the preview its own port' }] },
    { desc: 'beyond loopback', preview: { secret: SECRET, listen: ':8081' }, want: [{ path: `${at}.listen`, message: 'must be a loopback address (it serves the candidate without the secret); use the preview header or cookie from elsewhere' }] },
    { desc: 'a listen without a port', preview: { secret: SECRET, listen: 'localhost' }, want: [{ path: `${at}.listen`, message: '"localhost" has no port; write it as host:port, like 127.0.0.1:8080, or :8080 for every interface' }] },
    { desc: 'an unknown key', preview: { secret: SECRET, cookie: 'x' }, want: [{ path: `${at}.cookie`, message: 'unknown key; expected one of `header`, `secret`, `listen`' }] },
  ];
  for (const { desc, preview, want } of cases) assert.deepEqual(webProblems({ preview }), want, desc);
});

test('two apps cannot preview on one address', () => {
  const preview = { secret: SECRET, listen: '127.0.0.1:8081' };
  const result = validateConfig({ apps: { web: { preview }, api: { hosts: ['api.example.com'], preview } } }, { source: TEST_SOURCE });
  assert.deepEqual(!result.ok && result.problems, [{ path: 'apps.api.preview.listen', message: 'is the same address as app "web"\'s preview' }]);
});
