import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ConfigProblem } from '../core/errors.ts';
import type { AdminToken } from './config.ts';
import { validateConfig } from './schema.ts';
import { TEST_SOURCE } from './schema-testing.ts';

const ADMIN = 'an-admin-token-of-some-length';
const CI = 'a-ci-token-of-enough-length';
const RO = 'a-read-only-token-for-grafana';

function tokens(admin: unknown): readonly AdminToken[] {
  const result = validateConfig({ admin }, { source: TEST_SOURCE });
  if (!result.ok) assert.fail(`expected a valid admin section, got:\n${JSON.stringify(result.problems, null, 2)}`);
  return result.config.admin.tokens;
}

function problems(admin: unknown): readonly ConfigProblem[] {
  const result = validateConfig({ admin }, { source: TEST_SOURCE });
  return result.ok ? [] : result.problems;
}

test('the shorthands and the list all become named tokens with a role', () => {
  const cases: { desc: string; admin: unknown; want: AdminToken[] }[] = [
    { desc: 'no token', admin: {}, want: [] },
    { desc: 'token: with an empty variable', admin: { token: '' }, want: [] },
    { desc: 'token', admin: { token: ADMIN }, want: [{ name: 'admin', token: ADMIN, role: 'admin' }] },
    {
      desc: 'token and readToken',
      admin: { token: ADMIN, readToken: RO },
      want: [{ name: 'admin', token: ADMIN, role: 'admin' }, { name: 'read', token: RO, role: 'read' }],
    },
    { desc: 'readToken: with an empty variable', admin: { token: ADMIN, readToken: '' }, want: [{ name: 'admin', token: ADMIN, role: 'admin' }] },
    {
      desc: 'a list',
      admin: { tokens: [{ name: 'ci', token: CI, role: 'admin' }, { name: 'grafana', token: RO, role: 'read' }] },
      want: [{ name: 'ci', token: CI, role: 'admin' }, { name: 'grafana', token: RO, role: 'read' }],
    },
    {
      desc: 'the shorthand first, then the list',
      admin: { tokens: [{ name: 'ci', token: CI, role: 'admin' }], token: ADMIN },
      want: [{ name: 'admin', token: ADMIN, role: 'admin' }, { name: 'ci', token: CI, role: 'admin' }],
    },
    { desc: 'an empty list beside a token', admin: { token: ADMIN, tokens: [] }, want: [{ name: 'admin', token: ADMIN, role: 'admin' }] },
  ];
  for (const { desc, admin, want } of cases) assert.deepEqual(tokens(admin), want, desc);
});

test('admin.token stays readable on its own', () => {
  const result = validateConfig({ admin: { token: ADMIN, readToken: RO } });
  assert.ok(result.ok);
  assert.equal(result.config.admin.token, ADMIN);
});

test('a bad token entry is named by its path', () => {
  const at = 'admin.tokens[0]';
  const cases: { desc: string; admin: unknown; want: ConfigProblem[] }[] = [
    { desc: 'tokens as a mapping', admin: { tokens: { ci: CI } }, want: [{ path: 'admin.tokens', message: 'must be a list like [{ name: ci, token: ${CI_TOKEN}, role: admin }]' }] },
    { desc: 'an entry that is a string', admin: { tokens: [CI] }, want: [{ path: at, message: 'must be a mapping with a name, a token and a role, like { name: ci, token: ${CI_TOKEN}, role: admin }' }] },
    { desc: 'no name', admin: { tokens: [{ token: CI, role: 'admin' }] }, want: [{ path: at, message: 'needs a name, like ci; the history names its calls token:NAME' }] },
    { desc: 'no token', admin: { tokens: [{ name: 'ci', role: 'admin' }] }, want: [{ path: at, message: 'needs a token, like token: ${CI_TOKEN}' }] },
    { desc: 'an empty token', admin: { tokens: [{ name: 'ci', token: '', role: 'admin' }] }, want: [{ path: `${at}.token`, message: 'must not be empty' }] },
    { desc: 'a short token', admin: { tokens: [{ name: 'ci', token: 'short', role: 'admin' }] }, want: [{ path: `${at}.token`, message: 'must be at least 16 characters long' }] },
    { desc: 'no role', admin: { tokens: [{ name: 'ci', token: CI }] }, want: [{ path: at, message: 'needs a role: admin (every call) or read (only status, history, events, metrics and logs)' }] },
    { desc: 'an unknown role', admin: { tokens: [{ name: 'ci', token: CI, role: 'write' }] }, want: [{ path: `${at}.role`, message: 'must be admin or read' }] },
    {
      desc: 'a name with a space',
      admin: { tokens: [{ name: 'deploy bot', token: CI, role: 'admin' }] },
      want: [{ path: `${at}.name`, message: 'is not a valid token name: use lower-case letters, digits and dashes, start with a letter or digit, at most 63 characters' }],
    },
    { desc: 'an unknown key', admin: { tokens: [{ name: 'ci', token: CI, role: 'admin', rol: 'read' }] }, want: [{ path: `${at}.rol`, message: 'unknown key; did you mean `role`?' }] },
    { desc: 'a short readToken', admin: { token: ADMIN, readToken: 'short' }, want: [{ path: 'admin.readToken', message: 'must be at least 16 characters long' }] },
    { desc: 'a readToken that is a number', admin: { token: ADMIN, readToken: 1234567890123456 }, want: [{ path: 'admin.readToken', message: 'must be a string; put it in quotes' }] },
  ];
  for (const { desc, admin, want } of cases) assert.deepEqual(problems(admin), want, desc);
});

test('names and secrets are unique across the shorthands and the list', () => {
  const cases: { desc: string; admin: unknown; want: ConfigProblem[] }[] = [
    {
      desc: 'two entries with one name',
      admin: { tokens: [{ name: 'ci', token: CI, role: 'admin' }, { name: 'ci', token: RO, role: 'read' }] },
      want: [{ path: 'admin.tokens[1].name', message: '"ci" is already the name of admin.tokens[0]' }],
    },
    {
      desc: 'an entry named like the admin.token shorthand',
      admin: { token: ADMIN, tokens: [{ name: 'admin', token: CI, role: 'admin' }] },
      want: [{ path: 'admin.tokens[0].name', message: '"admin" is already the name of admin.token' }],
    },
    {
      desc: 'one secret under two names',
      admin: { tokens: [{ name: 'ci', token: CI, role: 'admin' }, { name: 'grafana', token: CI, role: 'read' }] },
      want: [{ path: 'admin.tokens[1].token', message: 'is the same secret as admin.tokens[0].token; give each token its own' }],
    },
    {
      desc: 'the read token equal to the admin token',
      admin: { token: ADMIN, readToken: ADMIN },
      want: [{ path: 'admin.readToken', message: 'is the same secret as admin.token; give each token its own' }],
    },
  ];
  for (const { desc, admin, want } of cases) assert.deepEqual(problems(admin), want, desc);
});

test('with any token, or beyond loopback, one token must have the admin role', () => {
  const required = { path: 'admin.token', message: 'the admin API listens beyond loopback, so a token is required' };
  const onlyRead = 'gives only read-only tokens, so no caller could deploy, switch or roll back; add admin.token or a token with role: admin';
  const grafana = { name: 'grafana', token: RO, role: 'read' };
  const cases: { desc: string; admin: unknown; want: ConfigProblem[] }[] = [
    { desc: 'loopback, no token', admin: {}, want: [] },
    { desc: 'beyond loopback, no token', admin: { listen: ':9900' }, want: [required] },
    { desc: 'beyond loopback, an admin token in the list', admin: { listen: ':9900', tokens: [{ name: 'ci', token: CI, role: 'admin' }] }, want: [] },
    { desc: 'beyond loopback, admin.token and a read token', admin: { listen: ':9900', token: ADMIN, tokens: [grafana] }, want: [] },
    { desc: 'beyond loopback, only a read token in the list', admin: { listen: ':9900', tokens: [grafana] }, want: [{ path: 'admin.tokens', message: onlyRead }] },
    { desc: 'loopback, only a read token in the list', admin: { tokens: [grafana] }, want: [{ path: 'admin.tokens', message: onlyRead }] },
    { desc: 'loopback, only readToken', admin: { readToken: RO }, want: [{ path: 'admin.readToken', message: onlyRead }] },
    {
      desc: 'beyond loopback, a bad entry: its own problem only',
      admin: { listen: ':9900', tokens: [{ name: 'ci', token: 'short', role: 'admin' }] },
      want: [{ path: 'admin.tokens[0].token', message: 'must be at least 16 characters long' }],
    },
  ];
  for (const { desc, admin, want } of cases) assert.deepEqual(problems(admin), want, desc);
});
