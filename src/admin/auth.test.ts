import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import type { AdminToken } from '../config/config.ts';
import { CutoverError, UnauthorizedError } from '../core/errors.ts';
import { authorize, LOCAL_CALLER, MAX_WHO_HINT, TokenGuard, whoOf, type Caller } from './auth.ts';

const CI = 'ci-token-0123456789abcdef';
const RO = 'grafana-token-0123456789abcdef';
const TOKENS: AdminToken[] = [
  { name: 'ci', token: CI, role: 'admin' },
  { name: 'grafana', token: RO, role: 'read' },
];
const CI_CALLER: Caller = { name: 'ci', role: 'admin', authenticated: true };
const GRAFANA: Caller = { name: 'grafana', role: 'read', authenticated: true };

function withAuthorization(value?: string): IncomingMessage {
  return { headers: value === undefined ? {} : { authorization: value } } as IncomingMessage;
}

test('without tokens every caller is local, with the admin role', () => {
  const guard = new TokenGuard([]);
  assert.equal(guard.open, true);
  for (const header of [undefined, `Bearer ${CI}`, 'Bearer anything']) {
    assert.deepEqual(guard.identify(withAuthorization(header)), LOCAL_CALLER, String(header));
  }
});

test('with tokens the bearer token names the caller, or nobody', () => {
  const guard = new TokenGuard(TOKENS);
  assert.equal(guard.open, false);
  const cases: { desc: string; header?: string; want: Caller | null }[] = [
    { desc: 'the admin token', header: `Bearer ${CI}`, want: CI_CALLER },
    { desc: 'the read token', header: `Bearer ${RO}`, want: GRAFANA },
    { desc: 'the scheme in another case, extra spaces', header: `bearer   ${RO}  `, want: GRAFANA },
    { desc: 'no header', want: null },
    { desc: 'an unknown token', header: 'Bearer not-a-configured-token', want: null },
    { desc: 'a prefix of a token', header: `Bearer ${CI.slice(0, -1)}`, want: null },
    { desc: 'a token with more after it', header: `Bearer ${CI}x`, want: null },
    { desc: 'no scheme', header: CI, want: null },
    { desc: 'basic auth', header: `Basic ${Buffer.from(`ci:${CI}`).toString('base64')}`, want: null },
    { desc: 'an empty bearer', header: 'Bearer ', want: null },
  ];
  for (const { desc, header, want } of cases) assert.deepEqual(guard.identify(withAuthorization(header)), want, desc);
});

test('authenticate throws 401 where identify finds nobody', () => {
  const guard = new TokenGuard(TOKENS);
  assert.throws(() => guard.authenticate(withAuthorization('Bearer wrong')), UnauthorizedError);
  assert.deepEqual(guard.authenticate(withAuthorization(`Bearer ${CI}`)), CI_CALLER);
});

test('a read token may only read; an admin token and the local caller may do anything', () => {
  const cases: { desc: string; caller: Caller; method: string; allowed: boolean }[] = [
    { desc: 'read GET', caller: GRAFANA, method: 'GET', allowed: true },
    { desc: 'read HEAD', caller: GRAFANA, method: 'HEAD', allowed: true },
    { desc: 'read POST', caller: GRAFANA, method: 'POST', allowed: false },
    { desc: 'read DELETE', caller: GRAFANA, method: 'DELETE', allowed: false },
    { desc: 'admin POST', caller: CI_CALLER, method: 'POST', allowed: true },
    { desc: 'local POST', caller: LOCAL_CALLER, method: 'POST', allowed: true },
  ];
  for (const { desc, caller, method, allowed } of cases) {
    if (allowed) assert.doesNotThrow(() => authorize(caller, method, '/api/apps/web/switch'), desc);
    else {
      assert.throws(() => authorize(caller, method, '/api/apps/web/switch'), (err: unknown) => {
        assert.ok(err instanceof CutoverError);
        assert.deepEqual([err.code, err.status], ['FORBIDDEN', 403], desc);
        assert.equal(err.message, `the token "grafana" is read-only; ${method} /api/apps/web/switch needs a token with role admin`);
        return true;
      }, desc);
    }
  }
});

test('who: a token caller is its token, whatever it claims; the local caller keeps its hint in brackets', () => {
  const cases: { desc: string; caller: Caller; hint?: string; want: string }[] = [
    { desc: 'a token, no hint', caller: CI_CALLER, want: 'token:ci' },
    { desc: 'a token claiming another', caller: GRAFANA, hint: 'token:ci', want: 'token:grafana' },
    { desc: 'local, no hint', caller: LOCAL_CALLER, want: 'local' },
    { desc: 'local with the CLI user', caller: LOCAL_CALLER, hint: 'cli:alice', want: 'local (cli:alice)' },
    { desc: 'local claiming a token', caller: LOCAL_CALLER, hint: 'token:ci', want: 'local (token:ci)' },
    { desc: 'control characters dropped', caller: LOCAL_CALLER, hint: 'cli:\u001b[2Jbob\r\n', want: 'local (cli:[2Jbob)' },
    { desc: 'only blanks', caller: LOCAL_CALLER, hint: ' \n ', want: 'local' },
    { desc: 'a long hint cut', caller: LOCAL_CALLER, hint: 'x'.repeat(500), want: `local (${'x'.repeat(MAX_WHO_HINT)})` },
  ];
  for (const { desc, caller, hint, want } of cases) assert.equal(whoOf(caller, hint), want, desc);
});
